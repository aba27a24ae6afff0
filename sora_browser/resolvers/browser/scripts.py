"""What the resolver runs inside the page: which elements count as a play control, and the
scripts that pick one, tell a page waiting for a click, and read the video elements' URLs.

Plain CSS and plain JavaScript, kept apart from the Python that drives them so both read whole.
"""

CLICK_TIMEOUT_MS = 1500
# Plain CSS (the page's querySelector picks among them), most specific first. All but the
# last name a play control; only those mark a page as waiting for a click (WAITING_SCRIPT).
PLAY_SELECTORS = (
    "button[aria-label*='play' i]",
    "[role=button][aria-label*='play' i]",
    "button[title*='play' i]",
    "[data-testid*='play' i]",
    "[class*='play-button' i]",
    "video",
)
PLAY_CONTROLS = PLAY_SELECTORS[:-1]
# Runs in the page: the index of the first selector with a visible element, or -1.
PICK_PLAY_SCRIPT = """(selectors) => selectors.findIndex((selector) => {
  const el = document.querySelector(selector);
  if (!el) return false;
  const box = el.getBoundingClientRect();
  return box.width > 0 && box.height > 0 && getComputedStyle(el).visibility !== "hidden";
})"""
# Runs in the page once its main thread is idle: the play control to click, or -1 while any
# video already holds a source (that page plays, or is about to, without a click).
WAITING_SCRIPT = f"""(selectors) => new Promise((done) => {{
  const look = () => {{
    const sourced = [...document.querySelectorAll("video")].some(
      (v) => v.currentSrc || v.src || v.querySelector("source[src]"));
    done(sourced ? -1 : ({PICK_PLAY_SCRIPT})(selectors));
  }};
  if ("requestIdleCallback" in window) requestIdleCallback(look, {{ timeout: 500 }});
  else look();
}})"""
# Runs in the page: the URLs its video elements hold, once the main thread is idle.
DOM_SCRIPT = """() => new Promise((done) => {
  const collect = () => {
    const urls = [];
    for (const el of document.querySelectorAll("video, source[src]")) {
      urls.push(el.currentSrc || "", el.src || "");
    }
    done(urls.filter((u) => u && !u.startsWith("blob:") && !u.startsWith("data:")));
  };
  if ("requestIdleCallback" in window) requestIdleCallback(collect, { timeout: 500 });
  else collect();
})"""
