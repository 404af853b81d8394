import { configSchema, crossFieldProblems, type Config } from './schema.js';
import { ConfigError } from '../errors/config-error.js';

/** Reads and validates configuration once; throws ConfigError listing every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings count as unset, so `FOO= pnpm start` falls back to the default.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = configSchema.safeParse(cleaned);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(problems);
  }
  const problems = crossFieldProblems(parsed.data, new Set(Object.keys(cleaned)));
  if (problems.length > 0) throw new ConfigError(problems);
  return parsed.data;
}

/** For process entry points: load config or print why not and exit 78 (EX_CONFIG). */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`maskq: invalid configuration\n${err.problems.map((p) => `  - ${p}`).join('\n')}\n`);
      process.exit(78);
    }
    throw err;
  }
}
