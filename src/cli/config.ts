import { ConfigError, loadConfig, type LoadOptions } from '../config/load.ts';
import type { Config } from '../config/schema.ts';

/** A command's configuration, or null once every problem was printed (the command exits 2). */
export function commandConfig(options: LoadOptions): Config | null {
  try {
    return loadConfig(options);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    return null;
  }
}
