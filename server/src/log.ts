import { pino, type Logger } from "pino";

/** The root logger; modules take a child with their name (`logger.child({ module })`). */
export function createLogger(level: string): Logger {
  return pino({ level, base: undefined });
}

export type { Logger };
