// Config problems, each tied to a place a person can open: file:line:col, or the flag that caused it.

export interface Problem {
  /** "conf/edge.yaml:12:7" or "--to". */
  where: string;
  /** The key path the problem is about, e.g. sites[0].routes[1].proxy; empty for the top level. */
  path?: string;
  message: string;
  severity: 'error' | 'warning';
}

export class ConfigError extends Error {
  readonly code = 'ECONFIG';
  readonly problems: Problem[];

  constructor(problems: Problem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export function formatProblem(p: Problem): string {
  const path = p.path ? `${p.path}: ` : '';
  return `${p.where}: ${p.severity === 'warning' ? 'warning: ' : ''}${path}${p.message}`;
}

/** `sites[0].routes[1].proxy` from a path of keys and indexes. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}
