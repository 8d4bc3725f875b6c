// The live view: renders each view the server sends over its event stream
// (GET events, server-sent events). Everything is drawn here, as SVG and
// HTML; nothing is fetched but the stream and the files the rows link to.
"use strict";
(function () {
  var STATES = ["done", "running", "pending", "preempted", "failed", "cancelled", "pruned"];
  var W = 460, H = 270, M = {l: 58, r: 26, t: 22, b: 34};

  function $(id) { return document.getElementById(id); }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;"}[c];
    });
  }
  function duration(s) {
    if (s === null || s === undefined) return "-";
    s = Math.round(s);
    var h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60), x = s % 60;
    return (h ? h + "h" : "") + (h || m ? m + "m" : "") + x + "s";
  }
  function fmt(x) {
    if (x === null || x === undefined || !isFinite(x)) return "";
    var a = Math.abs(x);
    if (a !== 0 && (a < 1e-3 || a >= 1e5)) return x.toExponential(1);
    return String(+x.toPrecision(3));
  }
  function ticks(lo, hi, n) {
    var span = hi - lo, step = Math.pow(10, Math.floor(Math.log10(span / n)));
    if (span / step > n * 5) step *= 5; else if (span / step > n * 2) step *= 2;
    var out = [];
    for (var t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(t);
    return out;
  }

  // xticks returns the x ticks over [x0, x1] (log10 of x when logx): on a
  // log scale 1, 2 and 5 times the powers of ten, or the powers alone when
  // those are too many.
  function xticks(x0, x1, logx) {
    if (!logx) return ticks(x0, x1, 5);
    var out = [], decades = [];
    for (var k = Math.floor(x0); k <= Math.ceil(x1); k++) {
      [1, 2, 5].forEach(function (m) {
        var l = Math.log10(m) + k;
        if (l >= x0 - 1e-9 && l <= x1 + 1e-9) {
          out.push(m * Math.pow(10, k));
          if (m === 1) decades.push(Math.pow(10, k));
        }
      });
    }
    return out.length > 7 ? decades : out;
  }

  // extent returns the ranges [x0, x1, y0, y1] of lines' points and bands
  // (x through fx); infinite when they have none.
  function extent(lines, fx) {
    var x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    lines.forEach(function (l) {
      l.xs.forEach(function (x, i) {
        var vals = [l.ys[i], l.lo ? l.lo[i] : null, l.hi ? l.hi[i] : null];
        vals.forEach(function (y) {
          if (y === null || !isFinite(y)) return;
          x0 = Math.min(x0, fx(x)); x1 = Math.max(x1, fx(x));
          y0 = Math.min(y0, y); y1 = Math.max(y1, y);
        });
      });
    });
    return [x0, x1, y0, y1];
  }

  // chart returns an SVG line chart: lines [{color, label, xs, ys, lo, hi}]
  // with their bands, x on a log scale when logx. opt.x and opt.y, when
  // set, are the axes' ranges (shared by small multiples), opt.attrs the
  // svg element's extra attributes, opt.band the bands' opacity.
  function chart(title, xlabel, lines, logx, opt) {
    opt = opt || {};
    var fx = logx ? function (x) { return Math.log10(x); } : function (x) { return x; };
    var e = extent(lines, fx), x0 = e[0], x1 = e[1], y0 = e[2], y1 = e[3];
    if (isFinite(x0) && opt.x) { x0 = opt.x[0]; x1 = opt.x[1]; }
    if (isFinite(y0) && opt.y) { y0 = opt.y[0]; y1 = opt.y[1]; }
    var svg = ["<svg class=\"chart\" width=\"" + W + "\" height=\"" + H + "\" viewBox=\"0 0 " + W + " " + H + "\"" + (opt.attrs || "") + ">",
      "<text x=\"" + W / 2 + "\" y=\"14\" text-anchor=\"middle\">" + esc(title) + "</text>"];
    if (!isFinite(x0)) {
      svg.push("<text x=\"" + W / 2 + "\" y=\"" + H / 2 + "\" text-anchor=\"middle\">no evaluations yet</text></svg>");
      return svg.join("");
    }
    if (x1 === x0) { x0 -= 1; x1 += 1; }
    if (y1 === y0) { y0 -= Math.abs(y0) * 0.1 || 1; y1 += Math.abs(y1) * 0.1 || 1; }
    var pad = (y1 - y0) * 0.05; y0 -= pad; y1 += pad;
    var px = function (x) { return M.l + (fx(x) - x0) / (x1 - x0) * (W - M.l - M.r); };
    var py = function (y) { return H - M.b - (y - y0) / (y1 - y0) * (H - M.t - M.b); };
    ticks(y0, y1, 5).forEach(function (t) {
      svg.push("<line class=\"grid\" x1=\"" + M.l + "\" x2=\"" + (W - M.r) + "\" y1=\"" + py(t) + "\" y2=\"" + py(t) + "\"/>",
        "<text x=\"" + (M.l - 4) + "\" y=\"" + (py(t) + 4) + "\" text-anchor=\"end\">" + fmt(t) + "</text>");
    });
    xticks(x0, x1, logx).forEach(function (x) {
      svg.push("<text x=\"" + px(x) + "\" y=\"" + (H - M.b + 14) + "\" text-anchor=\"middle\">" + fmt(x) + "</text>");
    });
    svg.push("<line class=\"axis\" x1=\"" + M.l + "\" x2=\"" + M.l + "\" y1=\"" + M.t + "\" y2=\"" + (H - M.b) + "\"/>",
      "<line class=\"axis\" x1=\"" + M.l + "\" x2=\"" + (W - M.r) + "\" y1=\"" + (H - M.b) + "\" y2=\"" + (H - M.b) + "\"/>",
      "<text x=\"" + (M.l + W - M.r) / 2 + "\" y=\"" + (H - 4) + "\" text-anchor=\"middle\">" + esc(xlabel) + "</text>");
    lines.forEach(function (l) {
      // The band: a polygon per run of points with both ends.
      if (l.lo) {
        var run = [];
        var flush = function () {
          if (run.length > 1) {
            var up = run.map(function (i) { return px(l.xs[i]) + "," + py(l.hi[i]); });
            var down = run.slice().reverse().map(function (i) { return px(l.xs[i]) + "," + py(l.lo[i]); });
            svg.push("<polygon points=\"" + up.concat(down).join(" ") + "\" fill=\"" + l.color + "\" fill-opacity=\"" + (opt.band || 0.15) + "\" stroke=\"none\"/>");
          }
          run = [];
        };
        l.xs.forEach(function (x, i) {
          if (l.lo[i] !== null && l.hi[i] !== null) run.push(i); else flush();
        });
        flush();
      }
      var d = "", pen = false;
      l.xs.forEach(function (x, i) {
        var y = l.ys[i];
        if (y === null) { pen = false; return; }
        d += (pen ? "L" : "M") + px(x).toFixed(1) + "," + py(y).toFixed(1);
        pen = true;
      });
      svg.push("<path d=\"" + d + "\" fill=\"none\" stroke=\"" + l.color + "\" stroke-width=\"1.5\"><title>" + esc(l.label) + "</title></path>");
      if (l.xs.length === 1 && l.ys[0] !== null) {
        svg.push("<circle cx=\"" + px(l.xs[0]) + "\" cy=\"" + py(l.ys[0]) + "\" r=\"2\" fill=\"" + l.color + "\"/>");
      }
    });
    svg.push("</svg>");
    return svg.join("");
  }

  function legend(items) {
    var seen = {}, out = [];
    items.forEach(function (it) {
      if (seen[it.label]) return;
      seen[it.label] = true;
      out.push("<span><svg width=\"14\" height=\"10\"><rect width=\"14\" height=\"10\" fill=\"" + it.color + "\"/></svg> " + esc(it.label) + "</span>");
    });
    return "<div class=\"legend\">" + out.join("") + "</div>";
  }

  // legendSVG is legend as one SVG, in columns: with a method's many groups
  // one element is much cheaper to lay out than an element per entry.
  function legendSVG(items) {
    var longest = 0;
    items.forEach(function (it) { longest = Math.max(longest, String(it.label).length); });
    var colW = Math.min(Math.ceil(longest * 7) + 28, 2 * W), cols = Math.max(1, Math.floor(2 * W / colW));
    var rows = Math.ceil(items.length / cols), rowH = 15;
    var svg = ["<svg class=\"keys\" width=\"" + cols * colW + "\" height=\"" + rows * rowH + "\">"];
    items.forEach(function (it, i) {
      var x = (i % cols) * colW, y = Math.floor(i / cols) * rowH;
      svg.push("<rect x=\"" + x + "\" y=\"" + (y + 2) + "\" width=\"14\" height=\"10\" fill=\"" + it.color + "\"/>" +
        "<text x=\"" + (x + 18) + "\" y=\"" + (y + 11) + "\">" + esc(it.label) + "</text>");
    });
    svg.push("</svg>");
    return "<div class=\"legend\">" + svg.join("") + "</div>";
  }

  // shade returns colour c (#rrggbb) darkened (t < 0) or lightened (t > 0)
  // by |t|, toward black or white.
  function shade(c, t) {
    var out = "#";
    for (var i = 1; i < 7; i += 2) {
      var x = parseInt(c.slice(i, i + 2), 16);
      x = Math.round(t < 0 ? x * (1 + t) : x + (255 - x) * t);
      out += (x < 16 ? "0" : "") + x.toString(16);
    }
    return out;
  }

  // byMethod returns the methods of v's groups in the order of their first
  // group: [{method, color, groups}], each group with its own shade of the
  // method's colour (dark to light in grid order) and its label without
  // the method.
  function byMethod(v) {
    var out = [], index = {};
    v.groups.forEach(function (g) {
      if (!(g.method in index)) {
        index[g.method] = out.length;
        out.push({method: g.method, color: g.color, groups: []});
      }
      out[index[g.method]].groups.push(g);
    });
    out.forEach(function (m) {
      var n = m.groups.length;
      m.groups = m.groups.map(function (g, k) {
        var label = g.name.split(",").filter(function (kv) { return kv !== "method=" + g.method; }).join(", ");
        return {g: g, label: label || g.name, color: n === 1 ? g.color : shade(g.color, -0.45 + 0.9 * k / (n - 1))};
      });
    });
    return out;
  }

  // renderCurves draws one small multiple per method and metric: a
  // method's groups in shades of its colour, every panel of a metric on
  // the same axes, so that methods compare across panels and a method's
  // settings within one.
  function renderCurves(v) {
    var metrics = v.metrics || [];
    if (!metrics.length) {
      $("curves").innerHTML = "<p class=\"note\">No evaluation has been reported yet.</p>";
      return;
    }
    var methods = byMethod(v);
    var linesOf = function (m, metric) {
      var lines = [];
      m.groups.forEach(function (mg) {
        (mg.g.series || []).forEach(function (s) {
          if (s.name === metric) lines.push({color: mg.color, label: mg.g.name, xs: mg.g.steps, ys: s.mean, lo: s.lo, hi: s.hi});
        });
      });
      return lines;
    };
    var ranges = {};
    metrics.forEach(function (metric) {
      var all = [];
      methods.forEach(function (m) { all = all.concat(linesOf(m, metric)); });
      var e = extent(all, function (x) { return x; });
      ranges[metric] = {x: [e[0], e[1]], y: [e[2], e[3]]};
    });
    var html = [];
    methods.forEach(function (m) {
      var n = m.groups.length;
      html.push("<div class=\"method\"><h3><svg width=\"14\" height=\"10\"><rect width=\"14\" height=\"10\" fill=\"" + m.color + "\"/></svg> " +
        esc(m.method) + " <span class=\"note\">" + n + (n === 1 ? " group" : " groups") + "</span></h3><div class=\"charts\">");
      metrics.forEach(function (metric) {
        var r = ranges[metric];
        html.push(chart(metric + ": " + m.method, "step", linesOf(m, metric), false,
          {x: r.x, y: r.y, band: Math.max(0.04, 0.15 / Math.sqrt(n)),
            attrs: " data-method=\"" + esc(m.method) + "\" data-metric=\"" + esc(metric) + "\""}));
      });
      html.push("</div>");
      if (n > 1) html.push(legendSVG(m.groups.map(function (mg) { return {color: mg.color, label: mg.label}; })));
      html.push("</div>");
    });
    $("curves").innerHTML = html.join("");
  }

  function renderLadder(v) {
    var sec = $("ladder-section");
    if (!v.ladder || !v.ladder.length) { sec.hidden = true; return; }
    sec.hidden = false;
    var lines = v.ladder.map(function (l) {
      return {color: l.color, label: l.method,
        xs: l.points.map(function (p) { return p.tau; }), ys: l.points.map(function (p) { return p.mean; }),
        lo: l.points.map(function (p) { return p.lo; }), hi: l.points.map(function (p) { return p.hi; })};
    });
    $("ladder").innerHTML = chart("latest " + v.ladder_metric + " by temperature", "τ", lines, true) + legend(lines);
  }

  function files(v, r) {
    if (!v.files || ["done", "failed", "cancelled", "pruned"].indexOf(r.state) < 0) return "";
    var base = "files/" + encodeURIComponent(r.id) + "/";
    // A pruned replica keeps its partial trajectory, without result.json
    // or failure.json.
    var names = r.state === "done" ? ["trajectory.csv", "result.json", "replica.json"] :
      r.state === "pruned" ? ["trajectory.csv", "replica.json"] : ["failure.json", "trajectory.csv", "replica.json"];
    return names.map(function (n) { return "<a href=\"" + base + n + "\">" + n.replace(/\.[a-z]+$/, "") + "</a>"; }).join(" ");
  }

  // rowHTML is the row of replica r: one <tr> per replica, in grid order.
  function rowHTML(v, r) {
    return "<tr id=\"r-" + esc(r.id) + "\" class=\"" + esc(r.state || "unknown") + "\" data-state=\"" + esc(r.state) + "\">" +
      "<td>" + esc(r.id) + "</td><td>" + esc(r.group) + "</td><td class=\"state\">" + esc(r.state || "?") + "</td>" +
      "<td>" + r.attempt + "</td><td>" + esc(r.worker || "") + "</td>" +
      "<td><progress max=\"" + r.steps + "\" value=\"" + r.step + "\"></progress> " + r.step + "/" + r.steps + "</td>" +
      "<td>" + (r.state === "running" ? duration(r.eta) : "") + "</td><td>" + files(v, r) + "</td>" +
      "<td class=\"error\">" + esc(r.error || "") + "</td></tr>";
  }

  // renderRows redraws only the rows that changed since the last view.
  var rowCache = [];
  function renderRows(v) {
    var html = v.replicas.map(function (r) { return rowHTML(v, r); });
    var body = $("rows");
    if (html.length !== rowCache.length || body.rows.length !== html.length) {
      body.innerHTML = html.join("");
    } else {
      var tmp = document.createElement("tbody");
      for (var i = 0; i < html.length; i++) {
        if (html[i] === rowCache[i]) continue;
        tmp.innerHTML = html[i];
        body.replaceChild(tmp.rows[0], body.rows[i]);
      }
    }
    rowCache = html;
  }

  var chartKey = "";
  function render(v) {
    document.title = "heatbath: " + (v.name || v.sweep);
    $("title").textContent = "heatbath live view: " + (v.name || v.sweep);
    $("sweep").textContent = "sweep " + v.sweep + ", " + v.total + " replicas";
    $("status").textContent = v.status || "";
    STATES.forEach(function (s) { $("count-" + s).textContent = v.counts[s] || 0; });
    $("overall").max = v.steps_total || 1;
    $("overall").value = v.steps_done;
    $("steps").textContent = v.steps_done + " of " + v.steps_total + " steps" + (v.diverged ? ", " + v.diverged + " diverged" : "");
    $("rate").textContent = v.steps_per_second > 0 ? Math.round(v.steps_per_second) + " steps/s, ETA " + duration(v.eta_seconds) : "";
    renderRows(v);
    // The charts only when their data changed.
    var key = JSON.stringify([v.metrics, v.groups, v.ladder]);
    if (key !== chartKey) {
      chartKey = key;
      renderCurves(v);
      renderLadder(v);
    }
    document.body.setAttribute("data-view-time", v.time);
  }

  var es = new EventSource("events");
  es.addEventListener("open", function () { $("conn").textContent = "live"; });
  es.addEventListener("error", function () { $("conn").textContent = "reconnecting…"; });
  // Views that arrive while one is being drawn are not drawn: the next
  // turn draws the latest.
  var pending = null;
  function flush() {
    var data = pending;
    pending = null;
    var v = JSON.parse(data);
    render(v);
    window.dispatchEvent(new CustomEvent("liveview", {detail: v}));
  }
  es.addEventListener("end", function () {
    es.close();
    $("conn").textContent = "the view has stopped (its command ended); this page no longer updates";
  });
  es.addEventListener("view", function (e) {
    if (pending === null) setTimeout(flush, 0);
    pending = e.data;
  });
})();
