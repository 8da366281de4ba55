// Runs before every test file (vitest's setupFiles), also when files share one process: a failing test prints the
// run seed and the command that draws its inputs again.
import { beforeEach } from 'vitest';
import { RUN_SEED } from './helpers.ts';

beforeEach(({ onTestFailed, task }) => {
  onTestFailed(() => {
    // -t takes a regular expression, and the shell a single-quoted word.
    const pattern = task.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/'/g, `'\\''`);
    console.error(
      `[hearth] inputs drawn from run seed ${RUN_SEED}; to draw them again: ` +
        `HEARTH_TEST_SEED=${RUN_SEED} npx vitest run ${task.file.name} -t '${pattern}'`,
    );
  });
});
