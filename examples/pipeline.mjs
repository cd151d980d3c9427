#!/usr/bin/env node
/**
 * A nightly data pipeline with the git-prolly library — no git binary involved:
 *   1. make (or reuse) a git repository and set git-prolly up in it,
 *   2. import a CSV extract and commit it,
 *   3. apply the day's corrections and commit them,
 *   4. report what changed (key-level diff) and one record's history.
 *
 * Run after `npm run build`:   node examples/pipeline.mjs [repo-dir]
 * In your own project, import from 'git-prolly' instead of '../dist/src/index.js'.
 */
import * as fs from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import git from 'isomorphic-git';
import { initRepo, openRepo } from '../dist/src/index.js';

const dir = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'prolly-pipeline-'));
const sample = fileURLToPath(new URL('../fixtures/sample/users.csv', import.meta.url));
// Commits need an identity; a pipeline would set these in its environment.
process.env.GIT_AUTHOR_NAME ??= 'Nightly Pipeline';
process.env.GIT_AUTHOR_EMAIL ??= 'pipeline@example.org';
process.env.GIT_COMMITTER_NAME ??= process.env.GIT_AUTHOR_NAME;
process.env.GIT_COMMITTER_EMAIL ??= process.env.GIT_AUTHOR_EMAIL;

if (!fs.existsSync(join(dir, '.git'))) await git.init({ fs, dir, defaultBranch: 'main' });
await initRepo({ dir });

const repo = await openRepo({ dir });
try {
  const users = repo.dataset('users');

  // 1. The extract: streamed, sorted and built in one pass; each row stored as compact JSON.
  const imported = await users.import(sample, { key: 'id' });
  const first = await repo.commit({ message: 'Import users extract' });
  console.log(`imported ${imported.rows} rows → ${imported.count} users, commit ${first.oid?.slice(0, 7) ?? '(unchanged)'}`);

  // 2. Corrections: a batch of upserts and a deletion, one commit.
  const alice = JSON.parse((await users.getText('u00042')) ?? '{}');
  await users.putMany([
    ['u00042', JSON.stringify({ ...alice, plan: 'team' })],
    ['u09999', JSON.stringify({ id: 'u09999', name: 'New Customer', plan: 'free' })],
  ]);
  await users.del('u00007');
  const second = await repo.commit({ message: 'Daily corrections' });
  console.log(`corrections committed as ${second.oid?.slice(0, 7)}`);

  // 3. What changed since the extract (structural diff: cost follows the change, not the size).
  for await (const change of repo.diff({ from: 'HEAD~1', to: 'HEAD' })) {
    console.log(`  ${change.type.padEnd(8)} ${Buffer.from(change.key).toString('utf8')}`);
  }

  // 4. One record over time, and the dataset as of the first commit.
  for (const h of await repo.history('users', 'u00042')) {
    console.log(`  u00042 ${h.type} in ${h.commit.oid.slice(0, 7)}: ${h.commit.message.trim()}`);
  }
  console.log(`u00007 at HEAD~1: ${(await users.getText('u00007', { at: 'HEAD~1' })) ? 'present' : 'absent'}, now: ${(await users.getText('u00007')) ? 'present' : 'absent'}`);
  console.log(`repository: ${dir}`);
} finally {
  await repo.close();
}
