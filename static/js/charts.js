/* Charts of the dashboard. Data comes from <script type="application/json"> blocks written by
   Django's json_script, so no inline script is needed (the pages can run under a strict CSP). */
(function () {
  "use strict";
  // The status colours are the stylesheet's (portal.css), so a bar and a table cell never differ.
  var STYLE = getComputedStyle(document.documentElement);
  function colour(status) { return STYLE.getPropertyValue("--status-" + status).trim(); }
  var RED = colour("behind"), GREY = colour("no_data");
  var COLOURS = { met: colour("met"), at_risk: colour("at_risk"), behind: RED, no_data: GREY };
  var VI = new Intl.NumberFormat("vi-VN", { maximumFractionDigits: 1 });

  function number(value) {
    return value === null || value === undefined ? "—" : VI.format(value);
  }

  function data(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : [];
  }

  function overview(el, rows) {
    rows = rows.slice().reverse();
    var chart = echarts.init(el, null, { locale: "VI", renderer: "svg" });
    chart.setOption({
      animation: false,
      grid: { left: 90, right: 30, top: 10, bottom: 30 },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, valueFormatter: number },
      xAxis: { type: "value", max: function (range) { return Math.max(100, range.max); }, axisLabel: { formatter: "{value}%" } },
      yAxis: { type: "category", data: rows.map(function (r) { return r.code; }) },
      series: [
        {
          name: "Giá trị toàn tỉnh", type: "bar",
          data: rows.map(function (r) {
            return { value: r.value, itemStyle: { color: COLOURS[r.status] || GREY } };
          })
        },
        {
          name: "Ngưỡng", type: "scatter", symbol: "rect", symbolSize: [3, 18],
          itemStyle: { color: "#212529" },
          data: rows.map(function (r) { return r.threshold; })
        }
      ]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function sparkline(el, rows) {
    var row = rows.filter(function (r) { return r.code === el.dataset.code; })[0];
    if (!row) { return; }
    var chart = echarts.init(el, null, { locale: "VI", renderer: "svg" });
    chart.setOption({
      animation: false,
      grid: { left: 2, right: 2, top: 4, bottom: 4 },
      xAxis: { type: "category", show: false, data: row.labels },
      yAxis: { type: "value", show: false, scale: true },
      tooltip: { trigger: "axis", valueFormatter: number },
      series: [
        { type: "line", data: row.values, symbolSize: 4, lineStyle: { width: 2 }, itemStyle: { color: "#0d6efd" } },
        { type: "line", data: row.thresholds, symbol: "none", lineStyle: { type: "dashed", width: 1, color: RED } }
      ]
    });
  }

  function histogram(el, data) {
    var chart = echarts.init(el, null, { locale: "VI", renderer: "svg" });
    chart.setOption({
      animation: false,
      grid: { left: 40, right: 10, top: 10, bottom: 40 },
      tooltip: { trigger: "axis", valueFormatter: number },
      xAxis: { type: "category", data: data.labels, axisLabel: { rotate: 30 } },
      yAxis: { type: "value", minInterval: 1 },
      series: [{ name: "Số đơn vị", type: "bar", data: data.buckets, itemStyle: { color: "#0d6efd" } }]
    });
  }

  function trend(el, data) {
    var chart = echarts.init(el, null, { locale: "VI", renderer: "svg" });
    chart.setOption({
      animation: false,
      grid: { left: 40, right: 10, top: 10, bottom: 30 },
      tooltip: { trigger: "axis", valueFormatter: number },
      xAxis: { type: "category", data: data.trend.map(function (r) { return r.period; }) },
      yAxis: { type: "value", axisLabel: { formatter: "{value}%" } },
      series: [
        { name: "Toàn tỉnh", type: "line", data: data.trend.map(function (r) { return r.value; }) },
        { name: "Ngưỡng", type: "line", lineStyle: { type: "dashed", color: RED }, symbol: "none",
          data: data.trend.map(function (r) { return r.threshold; }) }
      ]
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var rows = data(el.dataset.source);
      if (el.dataset.chart === "overview") { overview(el, rows); }
      if (el.dataset.chart === "sparkline") { sparkline(el, rows); }
      if (el.dataset.chart === "histogram") { histogram(el, rows); }
      if (el.dataset.chart === "trend") { trend(el, rows); }
    });
  });
})();
