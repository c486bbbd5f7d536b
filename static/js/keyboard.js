// Keyboard shortcuts: Space = play/pause, → or "." = step, "r" = reset, Shift+R = restart with the same weights.
// Never while the user types or works a form control (text, number, slider, select, checkbox): those keys are theirs.
// On a focused button Space still means play/pause (Enter activates the button), so that a click on "+" followed by
// Space does not add another layer.

function ownsKeys(element) {
  if (!element || element === document.body) return false;
  if (element.isContentEditable) return true;
  return ["INPUT", "SELECT", "TEXTAREA"].includes(element.tagName);
}

export function installShortcuts({ playPause, step, reset, restartSame }) {
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (ownsKeys(document.activeElement) || ownsKeys(event.target)) return;
    let action = null;
    if (event.key === " " || event.code === "Space") action = playPause;
    else if (event.key === "ArrowRight" || event.key === ".") action = step;
    else if ((event.key === "r" || event.key === "R") && event.shiftKey && restartSame) action = restartSame;
    else if (event.key === "r" || event.key === "R") action = reset;
    if (!action) return;
    event.preventDefault();            // no page scroll on Space, no button activation
    if (!event.repeat) action();
  });
}
