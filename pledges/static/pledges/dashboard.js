/* The dashboard: reads GET /api/v1/reports/totals/ and draws it with Chart.js (served by the
   site itself). Figures are shown as the API gives them: decimal strings, never recomputed. */
(function () {
  "use strict";

  const script = document.getElementById("dashboard-script");
  const API = script.dataset.api;
  const form = document.getElementById("filters");
  const headline = document.getElementById("headline");
  const errorBox = document.getElementById("error");
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
      tr.innerHTML = '<td colspan="5" class="empty">No pledges match these filters.</td>';
      body.append(tr);
    }
  }

  function drawCategories(data) {
    const rows = data.rows.filter((row) => Number(row.total) > 0);
    draw("category-chart", {
      type: "doughnut",
      data: {
        labels: rows.map((row) => row.category.name),
        datasets: [{ data: rows.map((row) => Number(row.total)), backgroundColor: PALETTE, borderWidth: 2 }],
      },
      options: {
        maintainAspectRatio: false, animation: false, cutout: "58%",
        plugins: { legend: { position: "right", labels: { boxWidth: 12 } },
          tooltip: { callbacks: { label: (item) => `${item.label}: ${data.currency} ${grouped(rows[item.dataIndex].total)}` } } },
      },
    });
  }

  function drawTime(data) {
    const rows = [...data.rows].sort((a, b) => a.month.localeCompare(b.month));
    if (rows.length) {
      // The line starts from nothing, the month before the first pledge.
      const [year, month] = rows[0].month.split("-").map(Number);
      const before = month === 1 ? `${year - 1}-12` : `${year}-${String(month - 1).padStart(2, "0")}`;
      rows.unshift({ month: before, total: "0.00" });
    }
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
          fill: true, tension: 0.25, pointRadius: 3, stepped: false }],
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
    headline.dataset.state = "loading";
    try {
      const [donors, categories, months] = await Promise.all(
        ["donor", "category", "month"].map((key) => report(key, params)));
      if (mine !== generation) return;  // a newer filter change is on its way
      errorBox.hidden = true;
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
  refresh();
})();
