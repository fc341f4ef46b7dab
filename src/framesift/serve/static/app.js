// The live page: the video list, the player, the question form, indexing progress, and the
// evidence view (view.js) of each answer. Talks to the JSON API of `framesift serve`.
"use strict";

const $ = (id) => document.getElementById(id);
const { clock, el } = FramesiftView;
const TOKEN_STORE = "framesift";
const TOKEN_KEY = "/__framesift_token";

const state = { token: null, videos: [], video: null, view: null };

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(path, init = {}) {
  const headers = new Headers(init.headers || {});
  if (state.token) headers.set("Authorization", `Bearer ${state.token}`);
  if (init.body) headers.set("Content-Type", "application/json");
  let response;
  try {
    response = await fetch(path, { ...init, headers });
  } catch (err) {
    throw new ApiError(0, "the server cannot be reached; is framesift serve still running?");
  }
  const isJson = (response.headers.get("Content-Type") || "").includes("application/json");
  const body = isJson ? await response.json() : await response.blob();
  if (!response.ok) throw new ApiError(response.status, (isJson && body.error) || `${response.status} ${response.statusText}`);
  return { status: response.status, body };
}

function showError(node, message) {
  node.textContent = message || "";
  node.hidden = !message;
}

// ---- token ------------------------------------------------------------------------------

async function storedToken() {
  if (!self.caches) return null;
  const hit = await (await caches.open(TOKEN_STORE)).match(TOKEN_KEY);
  return hit ? hit.text() : null;
}

async function storeToken(token) {
  if (!self.caches) return;
  await (await caches.open(TOKEN_STORE)).put(TOKEN_KEY, new Response(token));
}

// The player's requests carry the token through a service worker; wait until it controls us.
async function tokenWorker() {
  if (!("serviceWorker" in navigator)) {
    throw new Error("the player needs a secure context with a token: open the page at http://127.0.0.1 or over https");
  }
  await navigator.serviceWorker.register("/sw.js");
  if (navigator.serviceWorker.controller) return;
  await new Promise((resolve, reject) => {
    navigator.serviceWorker.addEventListener("controllerchange", resolve, { once: true });
    setTimeout(() => reject(new Error("the page's service worker did not start; reload the page")), 10000);
  });
}

function askForToken(message) {
  $("app").hidden = true;
  $("token-form").hidden = false;
  showError($("token-error"), message);
  $("token").focus();
}

$("token-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  state.token = $("token").value.trim();
  await start();
});

// ---- start ------------------------------------------------------------------------------

async function start() {
  try {
    const health = (await api("/api/health")).body;
    $("server").textContent = `framesift ${health.version} · ${health.selector}, ${health.budget} keyframes`;
    if (state.token) {
      await storeToken(state.token);
      await tokenWorker();
    }
    $("token-form").hidden = true;
    $("app").hidden = false;
    await loadVideos();
  } catch (err) {
    if (err.status === 401) askForToken(state.token ? "That token was not accepted." : "");
    else document.body.append(el("p", { class: "error fatal", role: "alert", text: err.message }));
  }
}

async function loadVideos() {
  state.videos = (await api("/api/videos")).body;
  const list = $("videos");
  list.replaceChildren();
  $("videos-empty").hidden = state.videos.length > 0;
  for (const video of state.videos) {
    const details = video.error ? video.error : `${clock(video.duration)}${video.indexed ? " · indexed" : ""}`;
    list.append(
      el(
        "li",
        {},
        el(
          "button",
          {
            type: "button",
            class: video.error ? "video broken" : "video",
            "data-id": video.id,
            onclick: () => selectVideo(video),
            ...(video.error ? { disabled: "" } : {}),
          },
          el("span", { class: "name", text: video.path }),
          el("span", { class: "details", text: details }),
        ),
      ),
    );
  }
  if (state.videos.length && !state.video) selectVideo(state.videos.find((v) => !v.error) || state.videos[0]);
}

function selectVideo(video) {
  if (video.error) return;
  state.video = video;
  for (const button of document.querySelectorAll(".video")) button.classList.toggle("active", button.dataset.id === video.id);
  $("title").textContent = video.path;
  setStatus(video.indexed ? "indexed" : "not indexed yet: the first question indexes it");
  showError($("player-error"), "");
  $("player").src = `/media/${encodeURIComponent(video.id)}`;
  for (const id of ["question", "options", "selector", "budget", "ask-button"]) $(id).disabled = false;
  $("result").hidden = true;
  showError($("error"), "");
  $("question").focus();
}

function setStatus(text) {
  $("status").textContent = text;
  $("status").hidden = !text;
}

$("options").addEventListener("input", () => {
  $("options").rows = Math.min(10, Math.max(3, $("options").value.split("\n").length));
});

$("player").addEventListener("error", () => {
  if (state.video) showError($("player-error"), `This browser cannot play ${state.video.path}; the keyframes below still show what was found.`);
});
$("player").addEventListener("timeupdate", () => state.view && state.view.movePlayhead($("player").currentTime));

// ---- asking -----------------------------------------------------------------------------

function showProgress(fraction, text) {
  $("progress").hidden = fraction === null;
  if (fraction === null) return;
  $("progress-fill").style.width = `${(100 * fraction).toFixed(1)}%`;
  $("progress-text").textContent = text;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function followJob(job, video) {
  while (job.state === "queued" || job.state === "running") {
    const what = job.state === "queued" ? "waiting to index" : "indexing";
    showProgress(job.progress, `${what} ${video.path}: ${Math.round(100 * job.progress)}%`);
    await sleep(400);
    job = (await api(`/api/jobs/${job.job}`)).body;
  }
  if (job.state === "failed") throw new Error(`indexing failed: ${job.error}`);
  video.indexed = true;
  setStatus("indexed");
}

async function ask(video, request) {
  if (!video.indexed) await followJob((await api(`/api/videos/${video.id}/index`, { method: "POST" })).body, video);
  for (;;) {
    showProgress(1, "thinking…");
    const reply = await api("/api/ask", { method: "POST", body: JSON.stringify(request) });
    if (reply.status !== 202) return reply.body;
    await followJob(reply.body, video); // the server is still indexing: follow, then ask again
  }
}

async function thumbnail(video, kf) {
  const image = (await api(`/api/videos/${video.id}/frame?t=${kf.time}&w=240`)).body;
  return URL.createObjectURL(image);
}

function seek(t) {
  const player = $("player");
  player.currentTime = t;
  player.scrollIntoView({ block: "nearest", behavior: "smooth" });
}

$("ask").addEventListener("submit", async (event) => {
  event.preventDefault();
  const video = state.video;
  if (!video) return;
  const options = $("options").value.split("\n").map((o) => o.trim()).filter(Boolean);
  const request = { video: video.id, question: $("question").value.trim() };
  if (options.length) request.options = options;
  if ($("selector").value) request.selector = $("selector").value;
  if ($("budget").value) request.budget = Number($("budget").value);
  showError($("error"), "");
  $("ask-button").disabled = true;
  try {
    const result = await ask(video, request);
    const relevance = (await api(`/api/videos/${video.id}/relevance?q=${encodeURIComponent(request.question)}`)).body;
    const root = $("result");
    root.hidden = false;
    state.view = FramesiftView.render(root, result, {
      relevance,
      duration: video.duration,
      thumbnail: (kf) => thumbnail(video, kf),
      onSeek: seek,
    });
  } catch (err) {
    if (err.status === 401) askForToken("The server no longer accepts the token.");
    showError($("error"), err.message);
  } finally {
    showProgress(null);
    $("ask-button").disabled = false;
  }
});

storedToken()
  .then((token) => (state.token = token))
  .finally(start);
