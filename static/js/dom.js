// The page's one helper for making elements.

/** A new `name` element with an optional class and text. */
export function element(name, className, text) {
  const node = document.createElement(name);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}
