// The writer the kill tests run in a child process and kill: it saves a template checkpoint into a run folder again
// and again, as `hearth train` does (checkpoint-{step}, then save_total_limit's rotation), printing each step once
// saved.  Usage: checkpoint_writer.ts TEMPLATE_DIR OUT_DIR FIRST_STEP SAVE_TOTAL_LIMIT COUNT
import { checkpointFromFiles } from '../../src/core/checkpoint/hf_folder.ts';
import { readCheckpointFolder, saveCheckpointFolder } from '../../src/core/checkpoint/node_folder.ts';

const [template, outDir, firstStep, limit, count] = process.argv.slice(2);
const ckpt = checkpointFromFiles(await readCheckpointFolder(template));
process.stdout.write('ready\n');
for (let step = Number(firstStep); step < Number(firstStep) + Number(count); step++) {
  ckpt.training!.step = step;
  await saveCheckpointFolder(outDir, ckpt, { saveTotalLimit: Number(limit) });
  process.stdout.write(`saved ${step}\n`);
}
