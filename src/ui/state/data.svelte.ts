// The files the user gave us. Reading and tokenizing them belongs to the data module; this keeps the list.

export interface DataFile {
  /** stable key for the list, since two files may share a name */
  id: number;
  file: File;
  name: string;
  bytes: number;
}

let nextId = 1;

export class DataFiles {
  // Files are handed around, never edited: no deep proxy.
  files = $state.raw<DataFile[]>([]);
  totalBytes = $derived(this.files.reduce((n, f) => n + f.bytes, 0));

  /** Adds files, skipping any already in the list (same name, size and modification time). */
  add(files: Iterable<File>): void {
    const known = new Set(this.files.map((f) => key(f.file)));
    const added: DataFile[] = [];
    for (const file of files) {
      if (known.has(key(file))) continue;
      known.add(key(file));
      added.push({ id: nextId++, file, name: file.name, bytes: file.size });
    }
    if (added.length) this.files = [...this.files, ...added];
  }

  remove(id: number): void {
    this.files = this.files.filter((f) => f.id !== id);
  }
}

const key = (f: File): string => `${f.name}\u0000${f.size}\u0000${f.lastModified}`;
