// pattern-traceability UI: waterfall selection and keyboard, subtree collapse, live refresh.
// No framework; every page works without this script (links and forms), this makes it quicker.
"use strict";

const POLL_MS = 1500;

function rowsOf(list) {
  return Array.from(list.querySelectorAll(".wf-row")).filter((r) => !r.hidden);
}

async function showDetails(row) {
  const wf = document.getElementById("waterfall");
  const details = document.getElementById("details");
  if (!wf || !details) return;
  document.querySelectorAll(".wf-row[aria-selected='true']").forEach((r) => r.setAttribute("aria-selected", "false"));
  row.setAttribute("aria-selected", "true");
  row.scrollIntoView({ block: "nearest" });
  const list = row.closest(".wf-rows");
  if (list) list.setAttribute("aria-activedescendant", row.id);
  const span = row.dataset.span;
  const response = await fetch(`/turns/${wf.dataset.trace}/spans/${encodeURIComponent(span)}`, { credentials: "same-origin" });
  details.innerHTML = response.ok ? await response.text() : `<p class="error-message">Could not load span ${span} (${response.status}).</p>`;
  history.replaceState(null, "", `?span=${encodeURIComponent(span)}`);
}

function setCollapsed(row, collapsed) {
  const list = row.closest(".wf-rows");
  const id = row.dataset.span;
  const toggle = row.querySelector(".toggle");
  if (!toggle) return;
  toggle.setAttribute("aria-expanded", String(!collapsed));
  toggle.textContent = collapsed ? "▸" : "▾";
  list.querySelectorAll(".wf-row").forEach((r) => {
    const ancestors = (r.dataset.ancestors || "").split(" ");
    if (!ancestors.includes(id)) return;
    if (collapsed) { r.hidden = true; return; }
    // shown again unless another collapsed ancestor still hides it
    r.hidden = ancestors.some((a) => {
      const ar = document.getElementById(`span-${a}`);
      const t = ar && ar.querySelector(".toggle");
      return a !== id && t && t.getAttribute("aria-expanded") === "false";
    });
  });
}

function bindWaterfall(root) {
  const list = root.querySelector(".wf-rows");
  if (!list) return;
  list.addEventListener("click", (event) => {
    const row = event.target.closest(".wf-row");
    if (!row) return;
    event.preventDefault();
    if (event.target.closest(".toggle")) {
      setCollapsed(row, row.querySelector(".toggle").getAttribute("aria-expanded") === "true");
      return;
    }
    showDetails(row);
  });
  list.addEventListener("keydown", (event) => {
    const rows = rowsOf(list);
    if (!rows.length) return;
    const current = list.querySelector(".wf-row[aria-selected='true']");
    let index = current ? rows.indexOf(current) : -1;
    if (event.key === "ArrowDown" || event.key === "j") index = Math.min(index + 1, rows.length - 1);
    else if (event.key === "ArrowUp" || event.key === "k") index = Math.max(index - 1, 0);
    else if (event.key === "Home") index = 0;
    else if (event.key === "End") index = rows.length - 1;
    else if ((event.key === "ArrowLeft" || event.key === "ArrowRight") && current) {
      event.preventDefault();
      setCollapsed(current, event.key === "ArrowLeft");
      return;
    } else if (event.key === "Enter" && current) {
      event.preventDefault();
      showDetails(current);
      document.getElementById("details").focus();
      return;
    } else return;
    event.preventDefault();
    rows.forEach((r) => r.setAttribute("aria-selected", "false"));
    const row = rows[Math.max(index, 0)];
    row.setAttribute("aria-selected", "true");
    list.setAttribute("aria-activedescendant", row.id);
    row.scrollIntoView({ block: "nearest" });
  });
}

// Elements with data-live are re-fetched until the server stops marking them live.
function poll(element) {
  const url = element.dataset.live;
  if (!url) return;
  setTimeout(async () => {
    if (document.hidden) { poll(element); return; }
    try {
      const response = await fetch(url, { credentials: "same-origin" });
      if (response.ok) {
        const html = await response.text();
        const holder = document.createElement(element.tagName === "TBODY" ? "table" : "div");
        holder.innerHTML = html.trim();
        const fresh = holder.querySelector(`#${element.id}`);
        if (fresh && fresh.outerHTML !== element.outerHTML) {
          const selected = element.querySelector(".wf-row[aria-selected='true']");
          element.replaceWith(fresh);
          if (selected) {
            const again = document.getElementById(selected.id);
            if (again) again.setAttribute("aria-selected", "true");
          }
          if (fresh.id === "waterfall") bindWaterfall(fresh);
          const count = document.getElementById("span-count");
          if (count && fresh.dataset.spans) count.textContent = fresh.dataset.spans;
          poll(fresh);
          return;
        }
      }
    } catch (error) { /* the service restarting: try again at the next tick */ }
    poll(element);
  }, POLL_MS);
}

document.addEventListener("DOMContentLoaded", () => {
  const wf = document.getElementById("waterfall");
  if (wf) bindWaterfall(wf);
  document.querySelectorAll("[data-live]").forEach((element) => {
    if (element.id === "session-rows" && new URLSearchParams(location.search).get("page") > 1) return;
    poll(element);
  });
});
