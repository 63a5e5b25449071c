// The studio page: uploads, job forms, the job feed (Server-Sent Events), models and runs.
// Plain DOM, no framework and no build step: the page ships in the package and venues are
// often offline.
"use strict";

const $ = (selector, root = document) => root.querySelector(selector);
let limits = { max_upload_bytes: Infinity, max_duration_s: Infinity };

function showError(message) {
  $("#error").textContent = message || "";
}

// fetch that turns a refusal into an Error carrying the server's one-line message.
async function api(path, options = {}) {
  const response = await fetch(path, options);
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
  if (!response.ok) {
    throw new Error((body && body.error) || `${path}: HTTP ${response.status}`);
  }
  return body;
}

function fillSelect(select, values, { blank = null, keep = true } = {}) {
  const previous = select.value;
  select.replaceChildren();
  if (blank !== null) select.append(new Option(blank, ""));
  for (const [value, label] of values) select.append(new Option(label, value));
  if (keep && [...select.options].some(o => o.value === previous)) select.value = previous;
}

async function loadOptions() {
  const options = await api("/api/options");
  limits = options;
  for (const select of document.querySelectorAll("select.models")) {
    const chosen = select.value;  // kept when the list is drawn again (after an import)
    fillSelect(select, options.models.map(m => [m, m]));
    if (!chosen && options.models.includes("default")) select.value = "default";
  }
  fillSelect($("#preset"), options.presets.map(p => [p, p]), { blank: "(default)" });
  $("#runs-section").hidden = !options.runs;
  await loadSongs();
  await Promise.all([loadModels(), options.runs ? loadRuns() : null]);
}

async function loadSongs(select_id = null) {
  const songs = await api("/api/songs");
  fillSelect($("#song"), songs.map(s => [s.id, `${s.name} (${s.duration_s.toFixed(1)} s)`]));
  if (select_id) $("#song").value = select_id;
}

async function upload(file) {
  const status = $("#upload-status");
  status.className = "";
  showError("");
  if (file.size > limits.max_upload_bytes) {  // the server says the same; this saves the wait
    status.className = "bad";
    status.textContent = `${file.name}: larger than the upload limit of ` +
      `${limits.max_upload_bytes / 1e6} MB`;
    return;
  }
  status.textContent = `uploading ${file.name}…`;
  try {
    const song = await api("/api/songs", {
      method: "POST", body: file,
      headers: { "X-Filename": encodeURIComponent(file.name),
                 "Content-Type": "application/octet-stream" },
    });
    status.textContent = `${song.name}: ${song.duration_s.toFixed(1)} s, ready`;
    await loadSongs(song.id);
  } catch (error) {
    status.className = "bad";
    status.textContent = error.message;
  }
}

// A form's fields as a job request: numbers as numbers, check boxes as true or false, empty
// fields left out (defaults).
function formJob(form, kind) {
  const job = { kind };
  for (const element of form.elements) {
    if (!element.name || element.value === "") continue;
    job[element.name] = element.type === "number" ? Number(element.value)
      : element.type === "checkbox" ? element.checked : element.value;
  }
  return job;
}

async function submitJob(form, kind) {
  showError("");
  try {
    const job = await api("/api/jobs", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(formJob(form, kind)),
    });
    showJob(job);
  } catch (error) {
    showError(error.message);
  }
}

function jobTitle(job) {
  const p = job.params;
  if (job.kind === "render") {
    const end = p.end_s === null ? "end" : `${p.end_s} s`;
    const parts = p.segments > 1 ?
      ` · ${job.needs.length || p.segments} parts${p.spread ? " on many workers" : ""}` : "";
    return `render ${p.song} · ${p.model || "default"} · ${p.preset || "default look"} · ` +
      `${p.size[0]}x${p.size[1]} ${p.fps} fps · ${p.start_s} s–${end}${parts}`;
  }
  if (job.kind === "grid") {
    return `grid · ${p.model || "default"} · seeds ${p.seed}–${p.seed + p.count - 1}`;
  }
  return job.kind;
}

function showJob(job) {
  let item = document.querySelector(`#jobs li[data-id="${job.id}"]`);
  if (!item) {
    item = $("#job-template").content.firstElementChild.cloneNode(true);
    item.dataset.id = job.id;
    $(".cancel", item).addEventListener("click", () =>
      api(`/api/jobs/${job.id}/cancel`, { method: "POST" }).then(showJob)
        .catch(error => showError(error.message)));
    $("#jobs").prepend(item);
  }
  const finished = ["done", "failed", "cancelled"].includes(job.state);
  item.className = `job ${job.state}`;
  $(".title", item).textContent = jobTitle(job);
  $(".state", item).textContent = job.cancelling ? "cancelling…" : job.state;
  $("progress", item).value = job.progress;
  $(".percent", item).textContent = `${Math.floor(job.progress * 100)} %`;
  $(".cancel", item).hidden = finished;
  $(".job-error", item).textContent = job.state === "failed" ? job.error : "";
  const result = $(".result", item);
  if (job.url && !result.hasChildNodes()) {
    if (job.kind === "render") {
      const video = document.createElement("video");
      video.controls = true;
      video.preload = "metadata";
      video.src = job.url;
      result.append(video);
    } else {
      const image = document.createElement("img");
      image.alt = "seed grid";
      image.src = job.url;
      result.append(image);
    }
    const link = document.createElement("a");
    link.href = `${job.url}?download=1`;
    link.textContent = "Download";
    link.className = "download";
    result.append(link);
  }
}

function follow() {
  const feed = new EventSource("/api/events");
  feed.onopen = () => $("#link").classList.add("on");
  feed.onerror = () => $("#link").classList.remove("on");  // EventSource reconnects itself
  feed.addEventListener("job", event => showJob(JSON.parse(event.data)));
}

async function loadModels() {
  const models = await api("/api/models");
  const cards = models.map(model => {
    const card = document.createElement("div");
    card.className = "card model";
    const title = document.createElement("b");
    title.textContent = `${model.name} (${model.size_mb} MB)`;
    card.append(title);
    if (model.grid) {
      const image = document.createElement("img");
      image.alt = `${model.name}: sample grid`;
      image.loading = "lazy";
      image.src = `/api/models/${encodeURIComponent(model.name)}/grid`;
      card.append(image);
    }
    if (model.card) {
      const details = document.createElement("details");
      const summary = document.createElement("summary");
      summary.textContent = "model card";
      const text = document.createElement("pre");
      details.append(summary, text);
      details.addEventListener("toggle", () => {
        if (details.open && !text.textContent) {
          api(`/api/models/${encodeURIComponent(model.name)}/card`)
            .then(body => { text.textContent = body.text; })
            .catch(error => showError(error.message));
        }
      });
      card.append(details);
    }
    return card;
  });
  $("#models").replaceChildren(...cards);
}

async function loadRuns() {
  const runs = await api("/api/runs");
  const cards = runs.map(run => {
    const card = document.createElement("div");
    card.className = "card run";
    const title = document.createElement("b");
    title.textContent = `${run.name}: ${run.kimg} kimg, ${run.snapshots} snapshots`;
    const table = document.createElement("table");
    const kid = run.kid.length ? run.kid[run.kid.length - 1] : null;
    const rows = Object.entries(run.losses).map(([name, value]) => [name, value.toPrecision(4)]);
    if (kid) rows.push([`KID at ${kid.kimg} kimg`, (kid.kid * 1e3).toFixed(3) + " ×1e-3"]);
    for (const [name, value] of rows) {
      const row = table.insertRow();
      row.insertCell().textContent = name;
      row.insertCell().textContent = value;
    }
    card.append(title, table);
    if (run.fakes) {
      const image = document.createElement("img");
      image.alt = `${run.name}: ${run.fakes}`;
      image.loading = "lazy";
      image.src = `/api/runs/${encodeURIComponent(run.name)}/fakes`;
      card.append(image);
    }
    return card;
  });
  $("#runs").replaceChildren(...cards);
}

// The restricted importer converts it on the server (nothing from the file runs there).
async function importModel(file) {
  const status = $("#import-status");
  status.className = "";
  status.textContent = `importing ${file.name}…`;
  try {
    const model = await api("/api/models", {
      method: "POST", body: file,
      headers: { "X-Filename": encodeURIComponent(file.name),
                 "Content-Type": "application/octet-stream" },
    });
    status.textContent = `${model.name}: imported`;
    await loadOptions();
  } catch (error) {
    status.className = "bad";
    status.textContent = error.message;
  }
}

$("#pkl-file").addEventListener("change", event => {
  const file = event.target.files[0];
  if (file) importModel(file);
});
$("#song-file").addEventListener("change", event => {
  const file = event.target.files[0];
  if (file) upload(file);
});
$("#render-form").addEventListener("submit", event => {
  event.preventDefault();
  submitJob(event.target, "render");
});
$("#grid-form").addEventListener("submit", event => {
  event.preventDefault();
  submitJob(event.target, "grid");
});
loadOptions().then(follow).catch(error => showError(error.message));
