// A class's saved wall (/g/<id>): each run's output map as the wall showed it, with its name, epoch and test loss,
// linking to the saved run (/e/<id>). The data comes with the page; nothing connects.
import { byteLookup } from "./colors.js";
import { element } from "./dom.js";
import { formatLoss } from "./format.js";
import { PixelMap } from "./heatmap.js";

const gallery = JSON.parse(document.getElementById("gallery-data").textContent);
const lookup = byteLookup();
const list = document.getElementById("gallery-runs");
for (const run of gallery.runs) {
  const tile = element("a", "tile");
  tile.href = `/e/${run.id}`;
  const canvas = element("canvas", "tile-map");
  tile.append(canvas, element("span", "tile-name", run.name), element("span", "tile-epoch", `epoch ${run.epoch}`),
              element("span", "tile-loss", `test loss ${formatLoss(run.testLoss)}`));
  new PixelMap(canvas, 10).paint(Uint8Array.from(run.map), 0, lookup);
  list.append(tile);
}
