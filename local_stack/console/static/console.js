// The console's page. Every value comes from events a sender wrote: it is only ever put
// in the page as text (textContent, text nodes), never as HTML.
"use strict";

function el(tag, className, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child ?? "")));
  }
  return node;
}

function json(value) {
  return JSON.stringify(value, null, 2);
}

function outcomeText(event) {
  if (event.outcome === "accepted") {
    return event.replayed_from ? `accepted (replayed from ${event.replayed_from})` : "accepted";
  }
  return `quarantined: ${event.reason ?? "?"}`;
}

function handlersText(event) {
  const names = Object.keys(event.handlers);
  if (names.length === 0) {
    if (!event.routes.includes("publish")) return event.routes.includes("inline") ? "inline" : "-";
    return event.outcome === "accepted" ? "waiting for the worker" : "-";
  }
  return names
    .map((name) => {
      const run = event.handlers[name];
      return run.ok ? `${name} ok` : `${name} failed (${run.error ?? "raised"})`;
    })
    .join(", ");
}

function details(event) {
  const box = el("details", "more");
  box.append(el("summary", "", "details"));
  if (event.outcome === "accepted") {
    box.append(el("h3", "", "Canonical data"), el("pre", "data", json(event.data ?? null)));
    const worker = el("ul", "handlers");
    for (const [name, run] of Object.entries(event.handlers)) {
      const said = run.ok ? "ok" : `failed: ${run.error ?? "raised"}`;
      worker.append(el("li", run.ok ? "ok" : "failed", `${name} (${run.where}): ${said}`));
    }
    const count = event.deliveries;
    const deliveries = count ? ` (${count} ${count === 1 ? "delivery" : "deliveries"})` : "";
    box.append(el("h3", "", `What the worker did${deliveries}`), worker);
  }
  if (event.problems.length || event.sent !== null) {
    const problems = el("ul", "problems");
    for (const problem of event.problems) {
      problems.append(el("li", "", `${problem.loc || "(event)"}: ${problem.msg}`));
    }
    box.append(el("h3", "", "Problems"), problems);
    box.append(el("h3", "", "Data as sent"), el("pre", "sent", json(event.sent ?? null)));
  }
  return box;
}

function row(event) {
  const tr = el(
    "tr",
    `event ${event.outcome}`,
    el("td", "time", event.time ?? ""),
    el("td", "outcome", outcomeText(event)),
    el("td", "type", event.type ?? "-"),
    el("td", "server", event.server ?? "-"),
    el("td", "event-id", event.event_id),
    el("td", "routes", event.routes.join(", ") || "-"),
    el("td", "worker", handlersText(event)),
  );
  tr.dataset.eventId = event.event_id;
  const more = el("tr", "more-row");
  more.dataset.detailsFor = event.event_id;
  const cell = el("td", "", details(event));
  cell.colSpan = 7;
  more.append(cell);
  return [tr, more];
}

function show(event) {
  const body = document.querySelector("#events tbody");
  const [tr, more] = row(event);
  const old = [...body.querySelectorAll("tr.event")].find(
    (node) => node.dataset.eventId === event.event_id,
  );
  if (old) {
    const oldMore = old.nextElementSibling;
    more.querySelector("details").open = oldMore.querySelector("details").open;
    old.replaceWith(tr);
    oldMore.replaceWith(more);
  } else {
    body.prepend(tr, more);
  }
}

function showRefused(refused) {
  const body = document.querySelector("#refused tbody");
  body.replaceChildren(
    ...Object.entries(refused)
      .sort()
      .map(([answer, count]) => el("tr", "", el("td", "", answer), el("td", "", count))),
  );
}

async function press(url, body) {
  const result = document.getElementById("result");
  result.textContent = "…";
  const answer = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Console": "1" },
    body: JSON.stringify(body),
  });
  const value = await answer.json();
  result.textContent = value.lines ? value.lines.join("\n") : json(value);
}

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button.send")) {
    button.addEventListener("click", () => press("/api/send", { type: button.dataset.type }));
  }
  for (const button of document.querySelectorAll("button.replay")) {
    button.addEventListener("click", () => press("/api/replay", { from: button.dataset.from }));
  }
  const connection = document.getElementById("connection");
  const stream = new EventSource("/api/stream");
  stream.onopen = () => {
    connection.textContent = "live";
  };
  stream.onerror = () => {
    connection.textContent = "reconnecting";
  };
  stream.onmessage = (message) => {
    const update = JSON.parse(message.data);
    for (const event of update.events) show(event);
    if (update.refused) showRefused(update.refused);
  };
});
