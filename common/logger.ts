// Structured JSON logs (pino) to stdout; one child logger per component.
import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(level: string, component: string): Logger {
  return pino({ level, base: { component }, timestamp: pino.stdTimeFunctions.isoTime });
}
