/**
 * JUnit XML for `git prolly verify --junit FILE`, the report format CI systems (GitHub Actions test
 * reporters, GitLab, Jenkins) display: one test case per commit, a failure per problem, and one case
 * for the checks about the range as a whole (history rewrites, audit log).
 */
import type { VerifyReport } from './verify.js';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');
}

/**
 * The report as a JUnit XML document.
 * @example writeFileSync('verify.xml', verifyReportJunit(report));
 */
export function verifyReportJunit(report: VerifyReport): string {
  const inCommits = new Set(report.commits.map((c) => c.commit));
  const rangeProblems = report.problems.filter((p) => !p.commit || !inCommits.has(p.commit) || p.check === 'history');
  const cases: string[] = [];
  const testcase = (name: string, failures: { type: string; message: string }[]) => {
    const body = failures.map((f) => `      <failure type="${esc(f.type)}" message="${esc(f.message)}">${esc(f.message)}</failure>\n`).join('');
    cases.push(body ? `    <testcase classname="git-prolly.verify" name="${esc(name)}">\n${body}    </testcase>\n` : `    <testcase classname="git-prolly.verify" name="${esc(name)}"/>\n`);
  };
  testcase('history and audit log', rangeProblems.map((p) => ({ type: p.check, message: p.message })));
  for (const c of report.commits) {
    const own = c.problems.filter((p) => p.check !== 'history');
    testcase(`commit ${c.commit.slice(0, 12)} ${c.subject}`, own.map((p) => ({ type: p.check, message: [p.dataset && `dataset ${p.dataset}`, p.chunk && `chunk ${p.chunk}`, p.message].filter(Boolean).join(': ') })));
  }
  const failures = (rangeProblems.length ? 1 : 0) + report.commits.filter((c) => c.problems.some((p) => p.check !== 'history')).length;
  const tests = report.commits.length + 1;
  const range = `${report.from ? report.from.slice(0, 12) : '(root)'}..${report.to.slice(0, 12)}`;
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<testsuites name="git-prolly verify" tests="${tests}" failures="${failures}" errors="0" time="${report.seconds}">\n` +
    `  <testsuite name="git-prolly verify ${esc(range)}" tests="${tests}" failures="${failures}" errors="0" skipped="0" time="${report.seconds}">\n` +
    cases.join('') +
    `  </testsuite>\n</testsuites>\n`
  );
}
