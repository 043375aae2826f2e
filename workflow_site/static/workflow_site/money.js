// The amount in words beside every money input (<input data-money>): "270,000,000" -> "2億7,000萬元".
// The same grouping as workflow_site/money.py format_money. Loaded once per page however many fields use it.
(function () {
  "use strict";
  if (window.rdecMoneyWords) return;
  const UNITS = [[10n ** 12n, "兆"], [10n ** 8n, "億"], [10n ** 4n, "萬"]];
  const group = (n) => n.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");

  function words(text) {
    const cleaned = text.normalize("NFKC").trim().replace(/^新臺幣/, "").replace(/元$/, "").replace(/[,\s_]/g, "");
    if (!/^-?\d{1,16}$/.test(cleaned)) return "";
    let value = BigInt(cleaned);
    if (value === 0n) return "0元";
    const sign = value < 0n ? "-" : "";
    if (value < 0n) value = -value;
    let out = "";
    for (const [size, unit] of UNITS) {
      const part = value / size;
      value %= size;
      if (part) out += group(part) + unit;
    }
    if (value) out += group(value);
    return sign + out + "元";
  }

  function update(input) {
    const output = input.closest(".rdec-money")?.querySelector("[data-money-words]");
    if (output) output.textContent = words(input.value);
  }

  window.rdecMoneyWords = words;
  document.addEventListener("input", (event) => {
    if (event.target.matches && event.target.matches("input[data-money]")) update(event.target);
  });
  document.querySelectorAll("input[data-money]").forEach(update);
})();
