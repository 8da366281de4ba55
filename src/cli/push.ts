// `hearth push`: a model to the Hugging Face Hub, with a model card and its loss curve. The token and the Hub's
// address come from flags or from Hugging Face's environment (HF_TOKEN or the login token file, HF_ENDPOINT).
import { checkpointToFiles } from '../core/checkpoint/hf_folder.ts';
import { pushFiles, pushToHub } from '../core/hub/push.ts';
import { boolean, DTYPE_NAMES, one, parseArgs, UsageError } from './args.ts';
import { loadCheckpoint } from './checkpoint_source.ts';
import { hfEnv } from './hf_env.ts';

export const PUSH_HELP = `usage: hearth push --model DIR|ZIP|hf:ID --repo USER/NAME [--private true] [--token hf_...]
                  [--dtype float32|bfloat16|float16] [--base_model ID] [--data_summary TEXT] [--commit_message TEXT]

Creates the model repo on the Hugging Face Hub (or updates it) and commits the model's Hugging Face files, a model
card (README.md: base model, data, training arguments, final losses) and loss_curve.png, in one commit: a push cut
short changes nothing. Training state (the optimizer's moments) stays behind.

  --token T            a token with write access; default HF_TOKEN, else the file \`huggingface-cli login\` writes
  --private true       a new repo is private (an existing one keeps its visibility)
  --dtype D            the weights' dtype, as for hearth export (default float32)
  --base_model ID      the Hub model it was fine-tuned from (default: the --model hf:ID, if it is one)
  --data_summary TEXT  what it was trained on, for the card
Reads HF_ENDPOINT for a Hub mirror.`;

export async function pushCommand(argv: string[], out: (s: string) => void, err: (s: string) => void): Promise<void> {
  const p = parseArgs(
    argv,
    {
      model: {},
      repo: {},
      token: {},
      private: {},
      dtype: {},
      base_model: {},
      data_summary: {},
      commit_message: {},
      help: { boolean: true },
    },
    false,
  );
  if (p.switches.has('help')) {
    out(PUSH_HELP);
    return;
  }
  const modelSpec = one(p, 'model');
  if (!modelSpec) throw new UsageError('--model is required (see hearth push --help)');
  const repo = one(p, 'repo');
  if (!repo) throw new UsageError('--repo is required: USER/NAME or ORG/NAME on the Hub');
  const env = hfEnv();
  const token = one(p, 'token') ?? env.token;
  if (!token)
    throw new UsageError('a push needs a token with write access: --token, HF_TOKEN or huggingface-cli login');
  const dtypeName = one(p, 'dtype') ?? 'float32';
  const dtype = DTYPE_NAMES[dtypeName.toLowerCase()];
  if (!dtype) throw new UsageError(`--dtype takes float32, bfloat16 or float16, got '${dtypeName}'`);
  const isPrivate = boolean(p, 'private') ?? false;
  const ckpt = await loadCheckpoint(modelSpec);
  const files = pushFiles(ckpt, checkpointToFiles({ ...ckpt, training: undefined }, { weightsDtype: dtype }), {
    baseModel: one(p, 'base_model') ?? (modelSpec.startsWith('hf:') ? modelSpec.slice(3) : undefined),
    dataSummary: one(p, 'data_summary'),
  });
  let last = '';
  const result = await pushToHub(files, {
    repo,
    token,
    hubUrl: env.endpoint,
    private: isPrivate,
    commitMessage: one(p, 'commit_message'),
    onProgress: (e) => {
      if (e.phase !== last && !e.file) err(`push: ${e.phase}`);
      last = e.phase;
    },
  });
  out(`pushed ${result.files.length} files to ${result.repoUrl} (${result.commitUrl})`);
}
