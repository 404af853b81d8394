/**
 * docker compose variable interpolation (`${VAR}`, `${VAR:-default}`, `${VAR-default}`,
 * `${VAR:?error}`, `$$`), so tests can read the values a service gets with a given `.env`.
 */
export function interpolate(value: string, env: Record<string, string | undefined>): string {
  return value.replace(/\$\$|\$\{(\w+)(?:(:?[-?])([^}]*))?\}|\$(\w+)/g, (whole, braced, op, arg, bare) => {
    if (whole === '$$') return '$';
    const name = (braced ?? bare) as string;
    const current = env[name];
    const unsetOrEmpty = current === undefined || current === '';
    switch (op as string | undefined) {
      case ':-':
        return unsetOrEmpty ? (arg as string) : current!;
      case '-':
        return current === undefined ? (arg as string) : current;
      case ':?':
      case '?':
        if (op === ':?' ? unsetOrEmpty : current === undefined) throw new Error(`${name}: ${arg as string}`);
        return current!;
      default:
        return current ?? '';
    }
  });
}

/** Every variable name a string refers to (not `$$`). */
export function variablesIn(value: string): string[] {
  return [...value.matchAll(/\$\$|\$\{(\w+)[^}]*\}|\$(\w+)/g)].filter((m) => m[0] !== '$$').map((m) => (m[1] ?? m[2])!);
}

/** Parses a `.env` file: KEY=VALUE lines, # comments. */
export function parseDotEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`bad .env line: ${raw}`);
    env[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return env;
}
