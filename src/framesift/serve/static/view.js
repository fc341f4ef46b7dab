// The evidence view of one answer: the answer and its options, a relevance timeline over the
// whole video with the keyframes marked, and the keyframes' thumbnails. Used by the live page
// (app.js) and by the offline report (`framesift ask --report`), so both look the same.
"use strict";

const FramesiftView = (() => {
  const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    }
    node.append(...children.filter((c) => c !== null && c !== undefined));
    return node;
  }

  function clock(seconds) {
    const s = Math.max(0, seconds);
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const sec = (s % 60).toFixed(1).padStart(4, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
  }

  function answerSection(result) {
    const section = el("section", { class: "answer" });
    section.append(el("p", { class: "question", text: result.question }));
    if (result.answer === null || result.answer === undefined) {
      section.append(
        el("p", {
          class: "verdict muted",
          text: "No options given: the moments below are the ones most relevant to the question.",
        }),
      );
      return section;
    }
    const chosen = result.answer_index;
    const label = chosen >= 0 ? `(${LETTERS[chosen]}) ${result.answer}` : result.answer;
    section.append(el("p", { class: "verdict" }, el("span", { text: "Answer " }), el("strong", { text: label })));
    if (!result.options) return section;
    const scores = result.option_scores || [];
    const low = Math.min(...scores);
    const high = Math.max(...scores);
    const list = el("ol", { class: "options" });
    result.options.forEach((option, i) => {
      const share = high > low ? (scores[i] - low) / (high - low) : 1;
      list.append(
        el(
          "li",
          { class: i === chosen ? "chosen" : "" },
          el("span", { class: "letter", text: LETTERS[i] }),
          el("span", { class: "text", text: option }),
          el("span", { class: "meter" }, el("span", { style: `width: ${(8 + 92 * share).toFixed(1)}%` })),
          el("span", { class: "score", text: scores[i] !== undefined ? scores[i].toFixed(3) : "" }),
        ),
      );
    });
    section.append(list);
    return section;
  }

  // Relevance of every candidate frame as an area over [0, duration]; keyframes as numbered
  // markers at their time. Returns the section and a function that moves the playhead.
  function timelineSection(result, relevance, duration, onSeek) {
    const times = relevance.times;
    const scores = relevance.scores;
    const end = Math.max(duration || 0, times.length ? times[times.length - 1] : 0, 1e-6);
    const low = Math.min(...scores);
    const high = Math.max(...scores);
    const y = (s) => (high > low ? 100 - (90 * (s - low)) / (high - low) : 50);
    const x = (t) => (1000 * t) / end;
    let line = "";
    times.forEach((t, i) => (line += `${i ? "L" : "M"}${x(t).toFixed(1)},${y(scores[i]).toFixed(1)}`));
    const area = times.length ? `${line}L${x(times[times.length - 1]).toFixed(1)},100L${x(times[0]).toFixed(1)},100Z` : "";
    const svgNS = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(svgNS, "svg");
    svg.setAttribute("viewBox", "0 0 1000 100");
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("class", "curve");
    for (const [d, cls] of [[area, "area"], [line, "line"]]) {
      const path = document.createElementNS(svgNS, "path");
      path.setAttribute("d", d);
      path.setAttribute("class", cls);
      path.setAttribute("vector-effect", "non-scaling-stroke");
      svg.append(path);
    }
    const track = el("div", { class: "track", title: "relevance of every candidate frame to the question" }, svg);
    const playhead = el("div", { class: "playhead", hidden: "" });
    track.append(playhead);
    result.keyframes.forEach((kf, i) => {
      track.append(
        el("button", {
          type: "button",
          class: "marker",
          style: `left: ${((100 * kf.time) / end).toFixed(3)}%`,
          title: `keyframe ${i + 1} at ${clock(kf.time)} (relevance ${kf.score.toFixed(3)})`,
          "data-time": kf.time,
          "data-keyframe": i,
          text: String(i + 1),
          onclick: () => onSeek(kf.time),
        }),
      );
    });
    track.addEventListener("click", (event) => {
      if (event.target.closest(".marker")) return;
      const box = track.getBoundingClientRect();
      onSeek((end * (event.clientX - box.left)) / box.width);
    });
    const axis = el("div", { class: "axis" }, el("span", { text: "0:00.0" }), el("span", { text: clock(end) }));
    const section = el(
      "section",
      { class: "timeline" },
      el(
        "h3",
        {},
        "Relevance over the video",
        el("span", { class: "legend", text: "line: every candidate frame · numbered: the keyframes chosen" }),
      ),
      track,
      axis,
    );
    const movePlayhead = (t) => {
      playhead.hidden = false;
      playhead.style.left = `${Math.min(100, (100 * t) / end).toFixed(3)}%`;
    };
    return [section, movePlayhead];
  }

  function keyframesSection(result, thumbnail, onSeek) {
    const best = result.keyframes.reduce((a, k, i) => (k.score > result.keyframes[a].score ? i : a), 0);
    const grid = el("div", { class: "thumbs" });
    result.keyframes.forEach((kf, i) => {
      const img = el("img", { alt: `frame at ${clock(kf.time)}`, loading: "lazy" });
      Promise.resolve(thumbnail(kf, i))
        .then((url) => (img.src = url))
        .catch(() => img.replaceWith(el("div", { class: "missing", text: "no preview" })));
      grid.append(
        el(
          "button",
          {
            type: "button",
            class: i === best ? "thumb best" : "thumb",
            "data-time": kf.time,
            "data-keyframe": i,
            title: `play from ${clock(kf.time)}`,
            onclick: () => onSeek(kf.time),
          },
          img,
          el(
            "span",
            { class: "caption" },
            el("b", { text: String(i + 1) }),
            el("span", { text: clock(kf.time) }),
            el("span", { class: "score", text: kf.score.toFixed(3) }),
          ),
        ),
      );
    });
    return el("section", { class: "keyframes" }, el("h3", { text: "Keyframes (click one to watch)" }), grid);
  }

  function metaLine(result) {
    const t = result.timings || {};
    const parts = [
      `${result.frames_considered} candidate frames`,
      `${result.selector} chose ${result.keyframes.length} (budget ${result.budget})`,
      `encoder ${result.encoder}`,
      result.cached ? "features from cache" : "features computed",
    ];
    if (t.total !== undefined) parts.push(`${t.total.toFixed(2)} s`);
    return el("p", { class: "meta", text: parts.join(" · ") });
  }

  // root: the element to fill. options: relevance {times, scores}, duration (s),
  // thumbnail(kf, i) -> URL or Promise of one, onSeek(t). Returns {movePlayhead(t)}.
  function render(root, result, options) {
    const [timeline, movePlayhead] = timelineSection(result, options.relevance, options.duration, options.onSeek);
    root.replaceChildren(
      answerSection(result),
      timeline,
      keyframesSection(result, options.thumbnail, options.onSeek),
      metaLine(result),
    );
    return { movePlayhead };
  }

  return { render, clock, el };
})();
