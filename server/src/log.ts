import { pino, type DestinationStream, type Logger } from "pino";

/**
 * The root logger; modules take a child with their name (`logger.child({ module })`).
 * Standard output unless a destination is given (the report CLI keeps stdout for JSON).
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return destination ? pino({ level, base: undefined }, destination) : pino({ level, base: undefined });
}

export type { Logger };
