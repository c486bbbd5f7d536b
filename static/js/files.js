// Beyond TF Playground: the learner's own data (CSV upload and download) and the real code (a PyTorch script, the
// network as JSON, and importing it back). The server does the work; this module only moves files.

const MAX_UPLOAD_BYTES = 512_000;          // the server's upload limit (custom_data.MAX_CSV_BYTES); a much larger
                                           // message would close the socket

/** Save text as a file the browser downloads (an object URL: nothing leaves the page). */
function saveFile(filename, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** A hidden file input opened by a button; `onText(text, file)` gets the chosen file's text. */
function filePicker(button, input, onText, showError) {
  button.addEventListener("click", () => input.click());
  input.addEventListener("change", async () => {
    const file = input.files[0];
    input.value = "";
    if (!file) return;
    if (file.size > MAX_UPLOAD_BYTES) {
      showError({ event: "upload", field: "file",
                  message: `${file.name} is ${Math.ceil(file.size / 1000)} KB; files may be at most 512 KB` });
      return;
    }
    onText(await file.text(), file);
  });
}

/**
 * Wire the buttons. `send(event, payload)` resolves with the server's reply (errors are shown by the caller's
 * `error` event handler); `onNetworkImported(reply)` applies an imported network's config.
 */
export function installFiles({ send, showError, onNetworkImported }) {
  const $ = (selector) => document.querySelector(selector);
  filePicker($("#upload-data"), $("#upload-data-file"), (csv) => send("upload_data", { csv }), showError);
  $("#download-data").addEventListener("click", async () => {
    const reply = await send("download_data");
    if (reply?.ok) saveFile(reply.filename, reply.csv, "text/csv");
  });
  $("#export-script").addEventListener("click", async () => {
    const reply = await send("export_script");
    if (reply?.ok) saveFile(reply.filename, reply.script, "text/x-python");
  });
  $("#export-network").addEventListener("click", async () => {
    const reply = await send("export_network");
    if (reply?.ok) saveFile(reply.filename, JSON.stringify(reply.network, null, 1), "application/json");
  });
  filePicker($("#import-network"), $("#import-network-file"), async (text, file) => {
    let network;
    try {
      network = JSON.parse(text);
    } catch {
      showError({ event: "import_network", field: "network", message: `${file.name} is not JSON` });
      return;
    }
    const reply = await send("import_network", { network });
    if (reply?.ok) onNetworkImported(reply);
  }, showError);
}
