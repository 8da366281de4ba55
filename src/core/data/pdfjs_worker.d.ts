// PDF.js's worker module ships without types; importing it only sets globalThis.pdfjsWorker (see pdf_text.ts).
declare module 'pdfjs-dist/legacy/build/pdf.worker.mjs';
