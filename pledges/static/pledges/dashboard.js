/* The dashboard: reads GET /api/v1/reports/totals/ and draws it with Chart.js (served by the
   site itself). Figures are shown as the API gives them: decimal strings, never recomputed. */
(function () {
  "use strict";

  const script = document.getElementById("dashboard-script");
  const API = script.dataset.api;
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

  async function report(groupBy, params) {
    const query = new URLSearchParams(params);
    query.set("group_by", groupBy);
    const response = await fetch(`${API}?${query}`, { headers: { Accept: "application/json" } });
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
    draw("donor-chart", {
      type: "bar",
      data: {
        labels: rows.map((row) => row.donor.name),
        datasets: [{ data: rows.map((row) => Number(row.total)), backgroundColor: "#0057b7",
          borderRadius: 4, maxBarThickness: 26 }],
      },
      options: {
        indexAxis: "y", maintainAspectRatio: false, animation: false,
        plugins: { legend: { display: false },
          tooltip: { callbacks: { label: (item) => `${data.currency} ${grouped(rows[item.dataIndex].total)}` } } },
        scales: { x: { ticks: { callback: money(data.currency) }, grid: { color: "#eef0f3" } },
          y: { grid: { display: false } } },
      },
    });
    const body = document.getElementById("donor-table");
    body.replaceChildren(...data.rows.map((row) => {
      const tr = document.createElement("tr");
      tr.dataset.donor = row.donor.name;
      const cells = [row.donor.name, `${data.currency} ${grouped(row.total)}`, row.pledges, row.unvalued, row.unconverted];
      cells.forEach((text, index) => {
        const td = document.createElement("td");
        td.textContent = text;
        if (index > 0) td.className = "num";
        if (index === 1) td.dataset.value = row.total;
        tr.append(td);
      });
      return tr;
    }));
    if (!data.rows.length) {
      const tr = document.createElement("tr");
      const td = document.createElement("td");
      td.colSpan = 5;
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

  function drawTime(data) {
    // Only the months with pledges: no invented zero before the first, so that a single
    // month is a single point, not a rise.
    const rows = [...data.rows].sort((a, b) => a.month.localeCompare(b.month));
    let cents = 0n;
    const cumulative = rows.map((row) => {
      cents += BigInt(row.total.replace(".", ""));
      return Number(cents) / 100;
    });
    draw("time-chart", {
      type: "line",
      data: {
        labels: rows.map((row) => row.month),
        datasets: [{ data: cumulative, borderColor: "#0057b7", backgroundColor: "rgba(0, 87, 183, 0.12)",
          fill: rows.length > 1, tension: 0.25, pointRadius: rows.length > 1 ? 3 : 6, stepped: false }],
      },
      options: {
        maintainAspectRatio: false, animation: false,
        plugins: { legend: { display: false },
          tooltip: { callbacks: { label: (item) => `${data.currency} ${item.raw.toLocaleString("en", { maximumFractionDigits: 0 })}` } } },
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
      const [donors, categories, months] = await Promise.all(
        ["donor", "category", "month"].map((key) => report(key, params)));
      if (mine !== generation) return;  // a newer filter change is on its way
      errorBox.hidden = true;
      emptyBox.hidden = donors.pledges > 0;
      document.body.classList.toggle("no-result", donors.pledges === 0);
      setFigure("total", donors.total, compact(donors.total, donors.currency));
      document.getElementById("total-exact").textContent = `${donors.currency} ${grouped(donors.total)}`;
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
