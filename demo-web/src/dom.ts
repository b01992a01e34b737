/**
 * The few DOM helpers the views share. Text only ever enters the page as text nodes
 * (`append` with strings, `textContent`), never as HTML, so nothing needs escaping.
 */

/** A screen or part of one: its root element and how to release its listeners and timers. */
export interface View {
  readonly element: HTMLElement;
  dispose(): void;
}

type Attrs = Record<string, string | boolean | undefined>;

/** Creates an element; `true` sets a boolean attribute, `false`/`undefined` leave it out. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children);
  return node;
}

/**
 * A user-provided string (name, title, message text) as its own bidi isolate: `<bdi>` takes
 * its direction from its first strong character and keeps its bidi controls (an unclosed
 * U+202E, say) and its direction from reordering the text around it.
 */
export function isolate(text: string): HTMLElement {
  return el("bdi", {}, text);
}

/** `texts` joined by `separator`, each one isolated, e.g. a comma-separated member line. */
export function isolatedList(texts: readonly string[], separator = ", "): (Node | string)[] {
  return texts.flatMap((text, i) => (i === 0 ? [isolate(text)] : [separator, isolate(text)]));
}

/**
 * Makes `parts` the content of `element`, unless it already reads the same: rewriting equal
 * text on every update would drop the reader's text selection in it.
 */
export function setContent(element: HTMLElement, parts: readonly (Node | string)[]): void {
  const text = parts.map((part) => (typeof part === "string" ? part : part.textContent)).join("");
  if (element.textContent !== text) element.replaceChildren(...parts);
}

/**
 * Makes `parent`'s children the rows of `items`, in order. Rows are kept in `rows` by key
 * and reused, so focus, text selection and scroll position survive every update.
 * `render` builds a row when given none, else updates the one it is given.
 */
export function reconcile<T>(
  parent: HTMLElement,
  rows: Map<string, HTMLElement>,
  items: readonly T[],
  key: (item: T) => string,
  render: (item: T, row: HTMLElement | undefined) => HTMLElement,
): void {
  const seen = new Set<string>();
  let cursor = parent.firstElementChild;
  for (const item of items) {
    const k = key(item);
    seen.add(k);
    const row = render(item, rows.get(k));
    rows.set(k, row);
    if (row === cursor) cursor = cursor.nextElementSibling;
    else parent.insertBefore(row, cursor);
  }
  for (const [k, row] of rows) {
    if (seen.has(k)) continue;
    row.remove();
    rows.delete(k);
  }
}

/**
 * Shows `message` in `container`'s error line, or removes the line. The line exists only
 * while there is an error, so the page never holds stale copies of one test id.
 */
export function showError(container: HTMLElement, testId: string, message: string | null): void {
  let line = container.querySelector<HTMLElement>(`[data-testid="${testId}"]`);
  if (message === null) {
    line?.remove();
    return;
  }
  if (!line) {
    line = el("p", { class: "error", role: "alert", "data-testid": testId });
    container.append(line);
  }
  line.textContent = message;
}

/** The message to show for a failure: the server's (or SDK's) words when there are any. */
export function errorMessage(err: unknown): string {
  return err instanceof Error && err.message ? err.message : "Something went wrong. Please try again.";
}
