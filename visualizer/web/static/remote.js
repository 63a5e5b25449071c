// The remote: draws the controls /api/controls lists, speaks the OSC address space as JSON over
// /ws, and follows the show's state (/gm/state/...) so every control shows what the show does.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {};          // "/gm/state/..." -> args, as last received
const views = new Map();   // state address -> update(args) of the controls showing it
const held = new Set();    // addresses a finger is on: incoming values do not move them
let socket = null;
let pending = new Map();   // address -> args not sent yet (one send per animation frame)

function stateOf(address) { return "/gm/state" + address.slice(3); }
function follow(address, update) {
  const key = address.startsWith("/gm/state") ? address : stateOf(address);
  if (!views.has(key)) views.set(key, []);
  views.get(key).push(update);
  if (key in state) update(state[key]);
}

function send(address, args) {
  pending.set(address, args);
  if (pending.size === 1) requestAnimationFrame(flush);
}
function flush() {
  if (socket && socket.readyState === WebSocket.OPEN) {
    for (const [address, args] of pending) socket.send(JSON.stringify({ address, args }));
  }
  pending = new Map();
}

function showError(text) {
  $("error").textContent = text;
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => { $("error").textContent = ""; }, 6000);
}

function fader(control) {
  const row = document.createElement("div");
  row.className = "control";
  const label = document.createElement("label");
  label.textContent = control.label;
  label.title = control.doc || control.address;
  const out = document.createElement("output");
  row.append(label, out);
  if (control.type === "toggle") {
    const button = document.createElement("button");
    button.textContent = control.label;
    button.title = label.title;
    button.dataset.address = control.address;
    button.addEventListener("click", () => send(control.address, [button.classList.contains("on") ? 0 : 1]));
    follow(control.address, (args) => button.classList.toggle("on", !!args[0]));
    row.replaceChildren(button);
    return row;
  }
  if (control.type === "choice") {
    const select = document.createElement("select");
    for (const choice of control.choices) select.add(new Option(choice, choice));
    select.dataset.address = control.address;
    select.addEventListener("change", () => send(control.address, [select.value]));
    follow(control.address, (args) => { select.value = args[0]; });
    row.append(select);
    return row;
  }
  const input = document.createElement("input");
  Object.assign(input, { type: "range", min: control.min, max: control.max, step: control.step });
  input.dataset.address = control.address;
  const number = (v) => control.step === 1 ? parseInt(v, 10) : parseFloat(v);
  input.addEventListener("input", () => { out.value = input.value; send(control.address, [number(input.value)]); });
  input.addEventListener("pointerdown", () => held.add(control.address));
  for (const end of ["pointerup", "pointercancel", "blur"]) input.addEventListener(end, () => held.delete(control.address));
  follow(control.address, (args) => {
    out.value = Number(args[0]).toFixed(control.step === 1 ? 0 : 2);
    if (!held.has(control.address)) input.value = args[0];
  });
  row.append(input);
  return row;
}

function build(page) {
  const slots = $("slots");
  for (let n = 1; n <= 9; n++) {
    const button = document.createElement("button");
    const name = page.slots[n - 1] || "";
    button.textContent = name ? `${n} ${name}` : `${n}`;
    button.dataset.slot = String(n);
    button.dataset.name = name;
    button.addEventListener("click", () => send("/gm/preset", [n]));
    slots.append(button);
  }
  follow("/gm/state/preset", (args) => {
    $("preset").textContent = args[0];
    for (const button of slots.children) button.classList.toggle("on", button.dataset.name === args[0]);
  });
  const groups = $("groups");
  page.groups.forEach((group, index) => {
    const box = document.createElement("details");
    box.open = index === 0;
    const summary = document.createElement("summary");
    summary.textContent = group.name;
    const grid = document.createElement("div");
    grid.className = "controls";
    for (const control of group.controls) {
      // Blackout and freeze have their own buttons in the transport bar: not a second time here.
      if (document.querySelector(`[data-flag="${control.address}"]`)) continue;
      grid.append(fader(control));
    }
    box.append(summary, grid);
    groups.append(box);
  });
}

function wireTransport() {
  for (const button of document.querySelectorAll("[data-action]")) {
    button.addEventListener("click", () => send(button.dataset.action, []));
  }
  for (const button of document.querySelectorAll("[data-flag]")) {
    const address = button.dataset.flag;
    button.addEventListener("click", () => send(address, [button.classList.contains("on") ? 0 : 1]));
    follow(address, (args) => button.classList.toggle("on", !!args[0]));
  }
  for (const button of document.querySelectorAll("[data-toggle]")) {
    button.addEventListener("click", () => send(button.dataset.toggle, []));
    follow(button.dataset.state, (args) => button.classList.toggle("on", !!args[0]));
  }
  follow("/gm/seed", (args) => { $("seed").value = args[0]; });
  follow("/gm/state/bpm", (args) => { $("bpm").value = Number(args[0]).toFixed(1); });
  follow("/gm/state/beat", (args) => { $("beat").value = args[0]; });
  follow("/gm/state/level", (args) => { $("level").value = args[0]; });
  follow("/gm/state/fps", (args) => { $("fps").value = Number(args[0]).toFixed(0); });
  $("preview-toggle").addEventListener("click", togglePreview);
}

function url(path) {
  return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
}

function connect(delay = 500) {
  socket = new WebSocket(url("/ws"));
  socket.onopen = () => { $("link").classList.add("on"); delay = 500; };
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.error) { showError(message.error); return; }
    for (const [address, args] of Object.entries(message.state || {})) {
      state[address] = args;
      for (const update of views.get(address) || []) update(args);
    }
  };
  socket.onclose = (event) => {
    $("link").classList.remove("on");
    if (event.reason) showError(event.reason);
    setTimeout(() => connect(Math.min(delay * 2, 8000)), delay);  // the show outlives Wi-Fi drops
  };
}

let preview = null;
function togglePreview() {
  const img = $("preview");
  const button = $("preview-toggle");
  if (preview) {
    preview.onclose = null;
    preview.close();
    preview = null;
    img.hidden = true;
    button.classList.remove("on");
    return;
  }
  preview = new WebSocket(url("/preview"));
  preview.binaryType = "blob";
  button.classList.add("on");
  img.hidden = false;
  preview.onmessage = (event) => {
    const old = img.src;
    img.src = URL.createObjectURL(event.data);
    if (old) URL.revokeObjectURL(old);
  };
  preview.onclose = () => { preview = null; img.hidden = true; button.classList.remove("on"); };
}

fetch("/api/controls").then((response) => {
  if (!response.ok) return response.json().then((body) => { throw new Error(body.error); });
  return response.json();
}).then((page) => { build(page); wireTransport(); connect(); })
  .catch((error) => showError(String(error.message || error)));
