/**
 * `git prolly audit [--verify] [--json] [-n N] [--allowed-signers FILE] [--require-signatures]
 * [--against ID] [--ack REASON]`: show the audit log (refs/prolly/audit), newest first; check its
 * chain, signatures and the branches it records (exit 1 on a problem); or record that a branch's
 * current tip is acknowledged (after a `git pull` or a deliberate history change).
 */
import { invalidArgument } from '../../errors.js';
import { CheckFailed } from '../run.js';
import { intOption, withRepo } from '../context.js';
import type { Output } from '../output.js';

const short = (hex: string) => `${hex.slice(0, 12)}…`;

export async function run(out: Output, _args: unknown[], options: Record<string, unknown>): Promise<number> {
  const limit = intOption('--limit', options.limit);
  return withRepo('audit', async (repo) => {
    const audit = await import('../../audit/index.js');
    const git = await repo.git();

    if (options.ack !== undefined) {
      const reason = String(options.ack).trim();
      if (!reason) throw invalidArgument('--ack needs a reason, e.g. --ack "pulled from origin"');
      await repo.acquireLock();
      const head = await git.head();
      if (!head.ref || !head.oid) throw invalidArgument('--ack records the current branch: check out a branch with commits first');
      let before: string | null = null;
      for (const r of await audit.readAuditLog(git)) if (r.entry?.ref === head.ref && r.entry.commits?.after) before = r.entry.commits.after;
      const { oid, entry } = await audit.appendAudit(repo, {
        op: 'ack',
        what: `acknowledge ${head.ref.replace(/^refs\/heads\//, '')} at ${head.oid.slice(0, 12)}: ${reason}`,
        ref: head.ref,
        commits: { before, after: head.oid },
        roots: { before: await audit.rootsAt(git, before), after: await audit.rootsAt(git, head.oid) },
        details: { reason },
      });
      if (out.json) await out.printJson({ entry, oid });
      else await out.line(`audit entry #${entry.seq} (${oid.slice(0, 12)}): ${entry.what}`);
      return 0;
    }

    if (options.verify) {
      const { allowedSignersFor } = await import('../../verify/signers.js');
      const allowedSigners = await allowedSignersFor(repo, options.allowedSigners as string | undefined);
      if (options.requireSignatures && !allowedSigners) {
        throw invalidArgument('--require-signatures needs an allowed-signers file (--allowed-signers FILE, [security] allowed_signers, or git config gpg.ssh.allowedSignersFile)');
      }
      const r = await audit.verifyAuditLog(git, {
        ...(allowedSigners ? { allowedSigners } : {}),
        requireSignatures: Boolean(options.requireSignatures),
        ...(options.against !== undefined ? { against: await git.resolve(String(options.against)).catch(() => String(options.against)) } : {}),
      });
      if (out.json) {
        await out.printJson(r);
        return r.ok ? 0 : 1;
      }
      for (const p of r.problems) await out.line(`✗ ${p.check}: ${p.message}`);
      for (const n of r.notes) await out.line(`note: ${n}`);
      const sigs = `${r.signed} signed${allowedSigners ? ` (${r.trusted} by allowed signers)` : ''}`;
      const refs = r.refsChecked.length ? `; checked ${r.refsChecked.map((x) => x.replace(/^refs\/heads\//, '')).join(', ')} against it` : '';
      if (r.ok) {
        await out.line(`audit log OK: ${r.entries} entries, chain intact, ${sigs}${refs}`);
        return 0;
      }
      await out.flush();
      throw new CheckFailed(`audit log: ${r.problems.length} problem${r.problems.length === 1 ? '' : 's'} in ${r.entries} entries (${sigs})`);
    }

    const records = await audit.readAuditLog(git);
    const shown = records.slice().reverse().slice(0, limit ?? records.length);
    if (out.json) {
      await out.printJson(shown.map((r) => ({ oid: r.oid, ...(r.entry ? { entry: r.entry } : { error: r.unreadable ?? 'not an audit entry' }) })));
      return 0;
    }
    if (records.length === 0) {
      await out.line('the audit log is empty (state-changing commands add entries to refs/prolly/audit)');
      return 0;
    }
    for (const r of shown) {
      const e = r.entry;
      if (!e) {
        await out.line(`?   ${r.oid.slice(0, 12)}  not an audit entry${r.unreadable ? `: ${r.unreadable}` : ''}`);
        continue;
      }
      await out.line(`#${e.seq}  ${e.time}  ${e.op}  ${e.who.name} <${e.who.email}>${e.who.signer ? `  signed ${e.who.signer}` : ''}`);
      await out.line(`    ${e.what}${e.ref ? ` on ${e.ref.replace(/^refs\/heads\//, '')}` : ''}`);
      const names = [...new Set([...Object.keys(e.roots.before), ...Object.keys(e.roots.after)])].sort();
      for (const n of names) await out.line(`    ${n}: ${e.roots.before[n] ? short(e.roots.before[n]!) : '(none)'} → ${e.roots.after[n] ? short(e.roots.after[n]!) : '(none)'}`);
    }
    return 0;
  });
}
