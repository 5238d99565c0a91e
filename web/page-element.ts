/** Finding the page's own elements, for the dashboard and the chaos timeline. */

/** The element with `id`, which must be a `type`: an Error naming it otherwise (a broken page). */
export function element<T extends HTMLElement>(id: string, type: new () => T): T {
  const found = document.getElementById(id);
  if (!(found instanceof type)) throw new Error(`the page has no #${id}`);
  return found;
}
