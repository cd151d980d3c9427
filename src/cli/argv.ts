/**
 * Command lines parsed without commander. Loading and configuring commander costs about 10–15 ms of
 * CPU at every start, more than many commands' own work; most invocations (`git prolly get users
 * alice`, `git prolly commit -m msg`, `git prolly sql "…" --format json`) are plain enough to read
 * directly. parseArgv reads only such command lines — known command, known options in their plain
 * forms, the right number of arguments — and returns undefined for everything else (help, version,
 * `--`, bundled short flags, unknown or repeated options, errors…), which commander then handles as
 * before. test/cli/argv.test.ts checks that wherever parseArgv answers, commander gives the same
 * arguments and options.
 */

/** What parseArgv needs of a command declaration (src/cli/main.ts SPECS). */
export interface ArgvSpec {
  name: string;
  /** Commander's argument syntax: `<required> [optional] <variadic...>`. */
  args: string;
  /** [flags, description, default]: `-m, --message <message>`, `--stat`, `--no-audit`… */
  options?: readonly (readonly [string, string, string?])[];
}

/** A parsed command line: the command, its arguments (one per declared argument) and options. */
export interface Invocation {
  name: string;
  args: unknown[];
  options: Record<string, unknown>;
}

/** Options every command has, with their help text (src/cli/main.ts adds them to each command). */
export const COMMON_OPTIONS: readonly (readonly [flags: string, description: string])[] = [
  ['--json', 'machine-readable output'],
  ['--debug', 'show stack traces on errors'],
];

interface OptionShape {
  key: string;
  long: string;
  short?: string;
  /** `[x]`: an optional value (left to commander when given). */
  kind: 'flag' | 'value' | 'optional' | 'negate';
  defaultValue?: string;
}

/** Commander's attribute name of a long flag: `--dry-run` → `dryRun`. */
function camel(long: string): string {
  return long.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** The shapes of a command's options, or undefined when one has a form parseArgv leaves to commander. */
function optionShapes(spec: ArgvSpec): OptionShape[] | undefined {
  const out: OptionShape[] = [];
  for (const [flags, , defaultValue] of spec.options ?? []) {
    const m = /^(?:(-[A-Za-z]), )?(--[a-z][a-z0-9-]*)(?: (<[^>.]+>|\[[^\].]+\]))?$/.exec(flags);
    if (!m) return undefined; // variadic options…
    const long = m[2]!;
    const value = m[3] !== undefined;
    if (m[3]?.startsWith('[')) {
      if (defaultValue !== undefined || long.startsWith('--no-')) return undefined;
      out.push({ key: camel(long), long, ...(m[1] ? { short: m[1] } : {}), kind: 'optional' });
      continue;
    }
    if (long.startsWith('--no-')) {
      if (value || defaultValue !== undefined) return undefined;
      out.push({ key: camel(`--${long.slice(5)}`), long, ...(m[1] ? { short: m[1] } : {}), kind: 'negate' });
      continue;
    }
    out.push({ key: camel(long), long, ...(m[1] ? { short: m[1] } : {}), kind: value ? 'value' : 'flag', ...(defaultValue !== undefined ? { defaultValue } : {}) });
  }
  for (const [g] of COMMON_OPTIONS) out.push({ key: camel(g), long: g, kind: 'flag' });
  // A negated option next to its positive form changes commander's defaults: leave that to it.
  const keys = out.map((o) => o.key);
  if (new Set(keys).size !== keys.length) return undefined;
  return out;
}

/** Declared arguments: required / optional, variadic. */
function argumentShapes(args: string): { required: boolean; variadic: boolean }[] | undefined {
  const out: { required: boolean; variadic: boolean }[] = [];
  for (const a of args.split(/\s+/).filter(Boolean)) {
    const m = /^(<|\[)[^\]>]+?(\.\.\.)?(>|\])$/.exec(a);
    if (!m) return undefined;
    out.push({ required: m[1] === '<', variadic: m[2] !== undefined });
  }
  // Only the last may be variadic; an optional argument is not followed by a required one.
  if (out.slice(0, -1).some((a) => a.variadic)) return undefined;
  if (out.some((a, i) => !a.required && out.slice(i + 1).some((b) => b.required))) return undefined;
  return out;
}

/**
 * Parse a command line when it is plain enough to read without commander, else undefined.
 * `except` names commands always left to commander (those with custom parsing).
 * @example parseArgv(['get', 'users', 'alice', '--json'], SPECS) // { name: 'get', args: ['users', 'alice'], options: { json: true } }
 */
export function parseArgv(argv: readonly string[], specs: readonly ArgvSpec[], except: readonly string[] = []): Invocation | undefined {
  const spec = specs.find((s) => s.name === argv[0]);
  if (!spec || except.includes(spec.name)) return undefined;
  const shapes = optionShapes(spec);
  const declared = argumentShapes(spec.args);
  if (!shapes || !declared) return undefined;
  const options: Record<string, unknown> = {};
  const seen = new Set<string>();
  const operands: string[] = [];
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg.length < 2 || arg[0] !== '-') {
      operands.push(arg);
      continue;
    }
    let name = arg;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      if (eq >= 0) {
        name = arg.slice(0, eq);
        inline = arg.slice(eq + 1);
      }
    } else if (arg.length !== 2) return undefined; // -abc: bundled flags or an attached value
    const shape = shapes.find((s) => s.long === name || s.short === name);
    if (!shape || shape.kind === 'optional' || seen.has(shape.key)) return undefined;
    seen.add(shape.key);
    if (shape.kind === 'value') {
      let value = inline;
      if (value === undefined) {
        const next = argv[i + 1];
        if (next === undefined || next.startsWith('-')) return undefined;
        value = next;
        i++;
      }
      options[shape.key] = value;
    } else {
      if (inline !== undefined) return undefined;
      options[shape.key] = shape.kind === 'flag';
    }
  }
  for (const s of shapes) {
    if (options[s.key] !== undefined) continue;
    if (s.kind === 'negate') options[s.key] = true;
    else if (s.defaultValue !== undefined) options[s.key] = s.defaultValue;
  }
  const args: unknown[] = [];
  let k = 0;
  for (const a of declared) {
    if (a.variadic) {
      const rest = operands.slice(k);
      if (a.required && rest.length === 0) return undefined;
      args.push(rest);
      k = operands.length;
      continue;
    }
    if (k < operands.length) args.push(operands[k++]);
    else if (a.required) return undefined;
    else args.push(undefined);
  }
  if (k < operands.length) return undefined; // too many arguments: commander's error
  return { name: spec.name, args, options };
}
