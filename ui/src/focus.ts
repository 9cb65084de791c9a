/**
 * Focus after a client-side route change. A full page load announces the new
 * page by itself; a pushState does not, and focus would stay on the link in
 * the header. So the new screen's `<h1>` takes focus, as soon as it exists:
 * some screens render their heading only with their data.
 */

const GIVE_UP_MS = 5_000;

/**
 * Focuses `root`'s first `<h1>` now or when it appears (within 5 s), unless
 * the user has moved focus somewhere else meanwhile. Returns a stop function
 * (the route changed again first).
 */
export function focusHeadingSoon(root: HTMLElement): () => void {
  const before = document.activeElement;
  const attempt = (): boolean => {
    const h = root.querySelector("h1");
    if (!h) return false;
    const now = document.activeElement;
    const untouched = now === before || now === null || now === document.body || now === root;
    if (untouched) {
      h.tabIndex = -1;
      h.focus({ preventScroll: true });
    }
    return true;
  };
  if (attempt()) return () => {};
  const observer = new MutationObserver(() => attempt() && stop());
  const timer = setTimeout(() => stop(), GIVE_UP_MS);
  function stop() {
    observer.disconnect();
    clearTimeout(timer);
  }
  observer.observe(root, { childList: true, subtree: true });
  return stop;
}
