// LogoForge Drive: uploads with a progress bar per file, actions that post with the session's CSRF token, and
// the preview lightbox. No framework: htmx (vendored) swaps server-rendered fragments, this file does the rest.
"use strict";

const csrf = () => document.body.dataset.csrf || "";

function notice(text, kind = "info") {
  const box = document.getElementById("notice");
  if (!box) return;
  box.textContent = text;
  box.className = kind;
}

async function detailOf(response) {
  try {
    const body = await response.json();
    if (typeof body.detail === "string") return body.detail;
  } catch (error) { /* not JSON */ }
  return `${response.status} ${response.statusText}`;
}

// Forms with data-action post their fields with the CSRF token; data-reload reloads the page on success.
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.dataset.action) return;
  event.preventDefault();
  if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
  const response = await fetch(form.dataset.action, {
    method: "POST", body: new FormData(form), headers: {"X-CSRF-Token": csrf()}, credentials: "same-origin",
  });
  if (response.status === 401) { window.location = "/drive/sign-in?next=" + encodeURIComponent(location.pathname); return; }
  if (!response.ok) { notice(await detailOf(response), "error"); return; }
  if ("reload" in form.dataset) window.location.reload();
});

// The lightbox opens when htmx has put a preview into it.
document.addEventListener("htmx:afterSwap", (event) => {
  if (event.detail.target.id === "lightbox-body") {
    const dialog = document.getElementById("lightbox");
    if (!dialog.open) dialog.showModal();
  }
});
document.addEventListener("htmx:responseError", (event) => {
  const xhr = event.detail.xhr;
  let text = `${xhr.status}`;
  try { text = JSON.parse(xhr.responseText).detail || text; } catch (error) { /* keep the status */ }
  notice(text, "error");
});

// --- Uploads ------------------------------------------------------------------------------------------------------

// Prompts from a metadata.jsonl ({"file_name", "text"} per line) or a CSV with file_name and text columns.
function parsePrompts(name, text) {
  const prompts = new Map();
  if (name.endsWith(".jsonl")) {
    for (const line of text.split(/\r?\n/)) {
      if (!line.trim()) continue;
      try {
        const record = JSON.parse(line);
        if (record.file_name && typeof record.text === "string") prompts.set(basename(record.file_name), record.text);
      } catch (error) { notice(`${name}: a line is not JSON`, "error"); }
    }
  } else {
    const rows = text.split(/\r?\n/).filter((row) => row.trim()).map(splitCsv);
    const header = rows.shift() || [];
    const file = header.indexOf("file_name"), caption = header.indexOf("text");
    if (file < 0 || caption < 0) notice(`${name}: needs file_name and text columns`, "error");
    else for (const row of rows) prompts.set(basename(row[file] || ""), row[caption] || "");
  }
  return prompts;
}

function splitCsv(row) {
  const cells = []; let cell = "", quoted = false;
  for (let i = 0; i < row.length; i++) {
    const c = row[i];
    if (quoted) {
      if (c === '"' && row[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') quoted = false; else cell += c;
    } else if (c === '"') quoted = true; else if (c === ",") { cells.push(cell); cell = ""; } else cell += c;
  }
  cells.push(cell);
  return cells;
}

const basename = (path) => path.split("/").pop();

function setUpDropzone(zone) {
  const queue = zone.querySelector(".queue"), body = zone.querySelector("tbody");
  const total = zone.querySelector(".total"), summary = zone.querySelector(".summary");
  const rows = [];
  const prompts = new Map();  // from every metadata.jsonl or CSV dropped so far, by file name
  let sessionEnded = false;

  async function add(files) {
    const list = Array.from(files);
    for (const file of list.filter((f) => /\.(jsonl|csv)$/i.test(f.name))) {
      for (const [name, prompt] of parsePrompts(file.name.toLowerCase(), await file.text())) prompts.set(name, prompt);
    }
    for (const file of list.filter((f) => !/\.(jsonl|csv)$/i.test(f.name))) {
      const row = document.createElement("tr");
      row.innerHTML = `<td class="name"></td><td><input class="prompt" maxlength="1000" placeholder="Prompt for this logo"></td>
        <td><progress max="100" value="0"></progress> <span class="state">waiting</span></td>`;
      row.querySelector(".name").textContent = file.name;
      row.querySelector(".prompt").value = prompts.get(file.name) || "";
      body.appendChild(row);
      rows.push({file, row, done: false});
    }
    for (const entry of rows) if (!entry.row.querySelector(".prompt").value && prompts.has(entry.file.name)) {
      entry.row.querySelector(".prompt").value = prompts.get(entry.file.name);
    }
    queue.hidden = rows.length === 0;
    summary.textContent = `${rows.filter((r) => !r.done).length} to upload`;
  }

  function send(entry) {
    return new Promise((resolve) => {
      const form = new FormData();
      form.append("file", entry.file);
      form.append("prompt", entry.row.querySelector(".prompt").value);
      const xhr = new XMLHttpRequest(), bar = entry.row.querySelector("progress");
      const state = entry.row.querySelector(".state");
      xhr.open("POST", `/drive/uploads/${zone.dataset.folder}/files`);
      xhr.setRequestHeader("X-CSRF-Token", csrf());
      xhr.upload.onprogress = (event) => {
        if (event.lengthComputable) { bar.value = Math.round(99 * event.loaded / event.total); entry.sent = event.loaded; }
        updateTotal();
      };
      xhr.onload = () => {
        if (xhr.status === 200) {
          bar.value = 100; entry.done = true; entry.row.classList.add("ok");
          const answer = JSON.parse(xhr.responseText);
          if (answer.archive) {  // a zip: how many logos it gave, and each file it could not take, with why
            const skipped = answer.skipped.map((s) => `${s.file}: ${s.reason}`);
            state.textContent = `${answer.uploaded.length} logo(s) uploaded` + (skipped.length ? `; skipped ${skipped.join("; ")}` : "");
            if (skipped.length) entry.row.classList.add("partial");
          } else state.textContent = "uploaded";
        }
        else {
          let reason = `${xhr.status}`;
          try { reason = JSON.parse(xhr.responseText).detail || reason; } catch (error) { /* keep the status */ }
          if (xhr.status === 401) { reason = "your session expired: sign in again, then upload this file again"; sessionEnded = true; }
          state.textContent = reason; entry.row.classList.add("failed"); bar.value = 0;
        }
        entry.sent = entry.done ? entry.file.size : 0;
        updateTotal();
        resolve();
      };
      xhr.onerror = () => { state.textContent = "the connection failed"; entry.row.classList.add("failed"); resolve(); };
      state.textContent = "uploading";
      xhr.send(form);
    });
  }

  function updateTotal() {
    const size = rows.reduce((sum, r) => sum + r.file.size, 0) || 1;
    const sent = rows.reduce((sum, r) => sum + (r.done ? r.file.size : (r.sent || 0)), 0);
    total.value = Math.round(100 * sent / size);
    const done = rows.filter((r) => r.done).length;
    summary.textContent = `${done} of ${rows.length} uploaded`;
  }

  zone.querySelector(".start").addEventListener("click", async () => {
    const pending = rows.filter((r) => !r.done);
    for (let i = 0; i < pending.length; i += 3) await Promise.all(pending.slice(i, i + 3).map(send));
    const failed = rows.filter((r) => r.row.classList.contains("failed") && !r.done).length;
    const notUploaded = failed === 1 ? "1 file was not uploaded" : `${failed} files were not uploaded`;
    notice(failed ? `${notUploaded}: see the reason beside each.` : "All files uploaded.", failed ? "error" : "info");
    if (sessionEnded) return;  // the listing would send the page to sign-in and take the reasons with it
    const listing = document.getElementById("listing");
    if (listing && window.htmx) htmx.ajax("GET", listing.dataset.url, {target: "#listing", swap: "outerHTML"});
  });
  zone.querySelector(".picker").addEventListener("change", (event) => add(event.target.files));
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => { event.preventDefault(); zone.classList.remove("over"); add(event.dataTransfer.files); });
}

document.addEventListener("DOMContentLoaded", () => document.querySelectorAll(".dropzone").forEach(setUpDropzone));
