/** Small builders for route declarations: bodies, answers and the error answers they can give. */
import { errorSchema, type ErrorCode, ERROR_STATUS } from "@wbk/shared";
import type { ZodType } from "zod";

export const jsonBody = <T extends ZodType>(schema: T) => ({
  body: { content: { "application/json": { schema } }, required: true as const },
});

export const jsonAnswer = <T extends ZodType>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});

/** The header of every `rate_limited` answer (errors.ts sets it from `details.retryAfterSeconds`). */
const retryAfterHeader = {
  "Retry-After": { description: "Whole seconds until the limit lets the request through", schema: { type: "integer" as const, minimum: 1 } },
};

/** Error answers for the given codes, grouped by status. */
export function errorAnswers(...codes: ErrorCode[]) {
  const byStatus: Record<
    number,
    { content: { "application/json": { schema: typeof errorSchema } }; description: string; headers?: typeof retryAfterHeader }
  > = {};
  for (const code of codes) {
    const status = ERROR_STATUS[code];
    const existing = byStatus[status];
    byStatus[status] = {
      content: { "application/json": { schema: errorSchema } },
      description: existing ? `${existing.description}, ${code}` : code,
      ...(code === "rate_limited" || existing?.headers ? { headers: retryAfterHeader } : {}),
    };
  }
  return byStatus;
}

export const bearer: Array<Record<string, string[]>> = [{ bearer: [] }, { cookie: [] }];
