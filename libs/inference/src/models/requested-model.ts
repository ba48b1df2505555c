/** The body's `model` when it is a string (anything else is left to the request parser's 400). */
export function requestedModel(body: unknown): string | undefined {
  const model = body && typeof body === 'object' ? (body as { model?: unknown }).model : undefined;
  return typeof model === 'string' ? model : undefined;
}

/** The body's `user` (the end user, OpenAI's field) when it is a string. */
export function requestedUser(body: unknown): string | undefined {
  const user = body && typeof body === 'object' ? (body as { user?: unknown }).user : undefined;
  return typeof user === 'string' ? user : undefined;
}
