import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  deepspeedConfig,
  withPytorchFiles,
  trainerKeywords,
  trainScript,
} from '../../src/core/train/pytorch_script.ts';
import { DEFAULT_TRAINING_ARGUMENTS } from '../../src/core/train/args.ts';

// Every field of transformers 5.18.0's TrainingArguments dataclass (transformers/training_args.py), in its order.
const HF_TRAINING_ARGUMENTS = new Set([
  'output_dir',
  'per_device_train_batch_size',
  'num_train_epochs',
  'max_steps',
  'learning_rate',
  'lr_scheduler_type',
  'lr_scheduler_kwargs',
  'warmup_steps',
  'optim',
  'optim_args',
  'weight_decay',
  'adam_beta1',
  'adam_beta2',
  'adam_epsilon',
  'optim_target_modules',
  'gradient_accumulation_steps',
  'average_tokens_across_devices',
  'max_grad_norm',
  'label_smoothing_factor',
  'bf16',
  'fp16',
  'bf16_full_eval',
  'fp16_full_eval',
  'tf32',
  'gradient_checkpointing',
  'gradient_checkpointing_kwargs',
  'torch_compile',
  'torch_compile_backend',
  'torch_compile_mode',
  'use_liger_kernel',
  'liger_kernel_config',
  'use_cache',
  'neftune_noise_alpha',
  'torch_empty_cache_steps',
  'auto_find_batch_size',
  'logging_strategy',
  'logging_steps',
  'logging_first_step',
  'log_on_each_node',
  'logging_nan_inf_filter',
  'include_num_input_tokens_seen',
  'log_level',
  'log_level_replica',
  'disable_tqdm',
  'report_to',
  'run_name',
  'project',
  'trackio_space_id',
  'trackio_bucket_id',
  'trackio_static_space_id',
  'eval_strategy',
  'eval_steps',
  'eval_delay',
  'per_device_eval_batch_size',
  'prediction_loss_only',
  'eval_on_start',
  'eval_do_concat_batches',
  'eval_use_gather_object',
  'eval_accumulation_steps',
  'include_for_metrics',
  'batch_eval_metrics',
  'save_only_model',
  'save_strategy',
  'save_steps',
  'save_on_each_node',
  'save_total_limit',
  'enable_jit_checkpoint',
  'push_to_hub',
  'hub_token',
  'hub_private_repo',
  'hub_model_id',
  'hub_strategy',
  'hub_always_push',
  'hub_revision',
  'load_best_model_at_end',
  'metric_for_best_model',
  'greater_is_better',
  'ignore_data_skip',
  'restore_callback_states_from_checkpoint',
  'full_determinism',
  'seed',
  'data_seed',
  'use_cpu',
  'accelerator_config',
  'parallelism_config',
  'dataloader_drop_last',
  'dataloader_num_workers',
  'dataloader_pin_memory',
  'dataloader_persistent_workers',
  'dataloader_prefetch_factor',
  'dataloader_multiprocessing_context',
  'dataloader_in_order',
  'remove_unused_columns',
  'label_names',
  'train_sampling_strategy',
  'length_column_name',
  'ddp_find_unused_parameters',
  'ddp_bucket_cap_mb',
  'ddp_broadcast_buffers',
  'ddp_static_graph',
  'ddp_backend',
  'ddp_timeout',
  'fsdp',
  'fsdp_config',
  'deepspeed',
  'debug',
  'skip_memory_metrics',
  'do_train',
  'do_eval',
  'do_predict',
  'resume_from_checkpoint',
  'local_rank',
]);

describe('train.py for a cluster', () => {
  it('passes every Hearth training argument under a name transformers defines', () => {
    const names = trainerKeywords({}).map(([k]) => k);
    for (const name of names) expect(HF_TRAINING_ARGUMENTS.has(name), name).toBe(true);
    // Nothing of the run is dropped: block_size goes to the data, warmup_ratio into warmup_steps.
    const carried = new Set([...names, 'block_size', 'warmup_ratio']);
    for (const key of Object.keys(DEFAULT_TRAINING_ARGUMENTS)) expect(carried.has(key), key).toBe(true);
    expect(trainerKeywords({ load_best_model_at_end: true }).map(([k]) => k)).toContain('metric_for_best_model');
  });

  it("writes the run's own values, warmup_ratio as transformers 5's fractional warmup_steps", () => {
    const script = trainScript({
      args: { learning_rate: 3e-4, warmup_ratio: 0.1, save_total_limit: null, fp16: true, block_size: 64 },
      evalSplitFraction: 0.05,
    });
    expect(script).toContain('    learning_rate=0.0003,');
    expect(script).toContain('    warmup_steps=0.1,');
    expect(script).toContain('    save_total_limit=None,');
    expect(script).toContain('    fp16=True,');
    expect(script).toContain('BLOCK_SIZE = 64\n');
    expect(script).toContain('EVAL_SPLIT_FRACTION = 0.05\n');
    expect(trainScript({ args: { warmup_steps: 20, warmup_ratio: 0.3 } })).toContain('    warmup_steps=20,');
    expect(() => trainScript({ args: { learning_rate: NaN } })).toThrow(/NaN/);
  });

  it('is Python that compiles, with a DeepSpeed config and the commands in the README', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-pytorch-'));
    const enc = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));
    const folder = new Map([
      ['config.json', enc({ model_type: 'gpt2', n_layer: 1 })],
      ['hearth_state.json', enc({ trainer_args: { learning_rate: 0.002, eval_strategy: 'steps', eval_steps: 10 } })],
      ['README.md', enc('# My model\n\nTrained on my notes.\n')],
    ]);
    const withScript = withPytorchFiles(folder);
    const files = new Map([...withScript].map(([name, bytes]) => [name, new TextDecoder().decode(bytes)]));
    expect(files.get('config.json')).toBe(JSON.stringify({ model_type: 'gpt2', n_layer: 1 }));
    expect(files.get('train.py')).toContain('    learning_rate=0.002,'); // the run's, from hearth_state.json
    expect(files.get('train.py')).toContain('    eval_steps=10,');
    for (const [name, text] of files) writeFileSync(join(dir, name), text);
    const r = spawnSync('python3', ['-m', 'py_compile', join(dir, 'train.py')], { encoding: 'utf8' });
    expect(r.error, 'python3 is needed to check train.py').toBeUndefined();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const ds = JSON.parse(deepspeedConfig({ fp16: true }));
    expect(ds.zero_optimization.stage).toBe(2);
    expect(ds.fp16.enabled).toBe('auto');
    const readme = files.get('README.md')!;
    expect(readme).toMatch(/^# My model\n\nTrained on my notes\.\n\n## Continue training in PyTorch/);
    expect(readme).toContain('This folder is a Hugging Face model (GPT-2)');
    expect(readme).toContain('torchrun --nproc_per_node 8 train.py');
    expect(readme).toContain('--deepspeed ds_config.json');
    expect(files.get('requirements.txt')).toMatch(/^transformers>=5/m);
  });
});
