/* The dashboard: reads GET /api/v1/reports/totals/ and /api/v1/reports/timeline/ and draws
   them with Chart.js (served by the site itself). Figures are shown as the API gives them:
   decimal strings, never recomputed. */
(function () {
  "use strict";

  const script = document.getElementById("dashboard-script");
  const API = script.dataset.api;
  const TIMELINE = script.dataset.timeline;
  const PLEDGED_COLOUR = "#0057b7";
  const ALLOCATED_COLOUR = "#e9a23b";
  const DELIVERED_COLOUR = "#2a7d72";
  const form = document.getElementById("filters");
  const headline = document.getElementById("headline");
  const errorBox = document.getElementById("error");
  const emptyBox = document.getElementById("empty");
  const PALETTE = ["#0057b7", "#ffd700", "#2a9d8f", "#e76f51", "#264653", "#8ab17d",
    "#f4a261", "#6d597a", "#b56576", "#457b9d", "#e9c46a", "#9c6644"];
  const charts = {};
  let generation = 0;

  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#3d4451";

  /** "1234567.80" -> "1,234,567.80", on the string, so nothing is lost to floating point. */
  function grouped(decimal) {
    const [whole, cents] = decimal.split(".");
    return whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",") + (cents ? "." + cents : "");
  }

  function compact(decimal, currency) {
    return new Intl.NumberFormat("en", {
      style: "currency", currency, notation: "compact", maximumFractionDigits: 1,
    }).format(Number(decimal));
  }

  function filterParams() {
    const params = new URLSearchParams();
    for (const [name, value] of new FormData(form)) {
      if (value) params.append(name, value);
    }
    return params;
  }

  /** The filters of the page's address (a shared or bookmarked link) into the form. */
  function restoreFilters() {
    const params = new URLSearchParams(window.location.search);
    for (const element of form.elements) {
      if (!element.name || !params.has(element.name)) continue;
      const value = params.get(element.name);
      if (element.tagName === "SELECT" && ![...element.options].some((o) => o.value === value)) {
        continue;  // a value this page does not offer (an old link): the default stays
      }
      element.value = value;
    }
  }

  /** The form's filters into the page's address, so that it can be shared or bookmarked. */
  function keepFiltersInAddress(params) {
    const query = params.toString();
    const address = query ? `?${query}` : window.location.pathname;
    if (window.location.search !== (query ? `?${query}` : "")) {
      window.history.replaceState(null, "", address);
    }
  }

  async function report(groupBy, params, url = API, extra = {}) {
    const query = new URLSearchParams(params);
    if (groupBy) query.set("group_by", groupBy);
    for (const [name, value] of Object.entries(extra)) query.set(name, value);
    const response = await fetch(`${url}?${query}`, { headers: { Accept: "application/json" } });
    const body = await response.json();
    if (!response.ok) {
      const messages = Object.entries(body).map(([name, errors]) => `${name}: ${[].concat(errors).join(" ")}`);
      throw new Error(messages.join("; "));
    }
    return body;
  }

  function setFigure(id, value, text) {
    const element = document.getElementById(id);
    element.dataset.value = value;
    element.textContent = text;
  }

  function draw(id, config) {
    if (charts[id]) charts[id].destroy();
    charts[id] = new Chart(document.getElementById(id), config);
  }

  function money(currency) {
    return (value) => compact(String(value), currency);
  }

  function drawDonors(data) {
    const rows = data.rows.filter((row) => Number(row.total) > 0).slice(0, 15);
    const bar = { borderRadius: 4, maxBarThickness: 22 };
    draw("donor-chart", {
      type: "bar",
      data: {
        labels: rows.map((row) => row.donor.name),
        datasets: [
          { label: "Pledged", data: rows.map((row) => Number(row.total)), backgroundColor: PLEDGED_COLOUR, ...bar },
          { label: "Delivered", data: rows.map((row) => Number(row.delivered)), backgroundColor: DELIVERED_COLOUR, ...bar },
        ],
      },
      options: {
        indexAxis: "y", maintainAspectRatio: false, animation: false,
        plugins: { legend: { position: "top", align: "start", labels: { boxWidth: 12 } },
          tooltip: { callbacks: { label: (item) => {
            const row = rows[item.dataIndex];
            const value = item.datasetIndex === 0 ? row.total : row.delivered;
            return `${item.dataset.label}: ${data.currency} ${grouped(value)}`;
          } } } },
        scales: { x: { ticks: { callback: money(data.currency) }, grid: { color: "#eef0f3" } },
          y: { grid: { display: false } } },
      },
    });
    for (const unit of document.querySelectorAll(".figures .unit")) unit.textContent = `(${data.currency})`;
    const body = document.getElementById("donor-table");
    body.replaceChildren(...data.rows.map((row) => {
      const tr = document.createElement("tr");
      tr.dataset.donor = row.donor.name;
      const amounts = [row.total, row.allocated, row.delivered, row.outstanding];
      const cells = [row.donor.name, ...amounts.map(grouped), row.pledges, row.unvalued, row.unconverted];
      cells.forEach((text, index) => {
        const td = document.createElement("td");
        td.textContent = text;
        if (index > 0) td.className = "num";
        if (index >= 1 && index <= amounts.length) td.dataset.value = amounts[index - 1];
        tr.append(td);
      });
      return tr;
    }));
    if (!data.rows.length) {
      const tr = document.createElement("tr");
      const td = document.createElement("td");
      td.colSpan = 8;
      td.className = "empty";
      td.textContent = "No pledges match these filters.";
      tr.append(td);
      body.append(tr);
    }
  }

  /** Each row's share of the total, in whole per cent (one decimal below 1 %). */
  function shares(rows, total) {
    const whole = Number(total);
    return rows.map((row) => {
      const share = whole > 0 ? (100 * Number(row.total)) / whole : 0;
      return share < 1 ? `${share.toFixed(1)} %` : `${Math.round(share)} %`;
    });
  }

  function drawCategories(data) {
    const rows = data.rows.filter((row) => Number(row.total) > 0);
    const share = shares(rows, data.total);
    draw("category-chart", {
      type: "doughnut",
      data: {
        // The legend says each category's value and share of the total.
        labels: rows.map((row, index) => `${row.category.name}: ${compact(row.total, data.currency)} (${share[index]})`),
        datasets: [{ data: rows.map((row) => Number(row.total)), backgroundColor: PALETTE, borderWidth: 2 }],
      },
      options: {
        maintainAspectRatio: false, animation: false, cutout: "58%",
        plugins: { legend: { position: window.innerWidth < 600 ? "bottom" : "right", labels: { boxWidth: 12 } },
          tooltip: { callbacks: { label: (item) => `${rows[item.dataIndex].category.name}: ${data.currency} ${grouped(rows[item.dataIndex].total)} (${share[item.dataIndex]})` } } },
      },
    });
  }

  /** The timeline's cumulative figures: pledged above, delivered below, the gap between
      them filled; only the months with something in them, so that a single month is a single
      point, not a rise from an invented zero. */
  function drawTime(data) {
    const rows = data.rows;
    const figures = ["pledged", "allocated", "delivered"];
    const line = (label, figure, colour, extra) => ({
      label, data: rows.map((row) => Number(row[`cumulative_${figure}`])), borderColor: colour,
      backgroundColor: colour, pointRadius: rows.length > 1 ? 2 : 6, cubicInterpolationMode: "monotone", ...extra,
    });
    draw("time-chart", {
      type: "line",
      data: {
        labels: rows.map((row) => String(row.period)),
        datasets: [
          line("Pledged", "pledged", PLEDGED_COLOUR, { fill: rows.length > 1 ? "+2" : false, backgroundColor: "rgba(0, 87, 183, 0.12)" }),
          line("Allocated", "allocated", ALLOCATED_COLOUR, { borderDash: [6, 4], fill: false }),
          line("Delivered", "delivered", DELIVERED_COLOUR, { fill: false }),
        ],
      },
      options: {
        maintainAspectRatio: false, animation: false,
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { position: "top", align: "start", labels: { boxWidth: 12 } },
          tooltip: { callbacks: { label: (item) => {
            const value = rows[item.dataIndex][`cumulative_${figures[item.datasetIndex]}`];
            return `${item.dataset.label}: ${data.currency} ${grouped(value)}`;
          } } } },
        scales: { y: { ticks: { callback: money(data.currency) }, beginAtZero: true, grid: { color: "#eef0f3" } },
          x: { grid: { display: false } } },
      },
    });
  }

  async function refresh() {
    const mine = ++generation;
    const params = filterParams();
    keepFiltersInAddress(params);
    headline.dataset.state = "loading";
    try {
      const [donors, categories, months] = await Promise.all([
        report("donor", params), report("category", params),
        report("", params, TIMELINE, { interval: "month" })]);
      if (mine !== generation) return;  // a newer filter change is on its way
      errorBox.hidden = true;
      emptyBox.hidden = donors.pledges > 0;
      document.body.classList.toggle("no-result", donors.pledges === 0);
      setFigure("total", donors.total, compact(donors.total, donors.currency));
      document.getElementById("total-exact").textContent = `${donors.currency} ${grouped(donors.total)}`;
      setFigure("delivered", donors.delivered, compact(donors.delivered, donors.currency));
      document.getElementById("delivered-note").textContent =
        `${donors.currency} ${grouped(donors.delivered)} delivered; ${donors.currency} ${grouped(donors.allocated)} allocated`;
      setFigure("pledges", donors.pledges, donors.pledges.toLocaleString("en"));
      setFigure("unvalued", donors.unvalued, donors.unvalued.toLocaleString("en"));
      setFigure("unconverted", donors.unconverted, donors.unconverted.toLocaleString("en"));
      drawDonors(donors);
      drawCategories(categories);
      drawTime(months);
      const csv = new URLSearchParams(params);
      csv.set("group_by", "donor");
      csv.set("format", "csv");
      document.getElementById("csv-link").href = `${API}?${csv}`;
      headline.dataset.query = params.toString();
      headline.dataset.state = "ready";
    } catch (error) {
      if (mine !== generation) return;
      errorBox.textContent = error.message;
      errorBox.hidden = false;
      headline.dataset.state = "error";
    }
  }

  form.addEventListener("change", refresh);
  form.addEventListener("reset", () => setTimeout(refresh));
  restoreFilters();
  refresh();
})();
