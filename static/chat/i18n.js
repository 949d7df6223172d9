// The page's language for its scripts: Django's catalog (/jsi18n/, loaded by
// base.html before any module) holds the translated messages. Every string a
// person sees goes through these; tests/static/test_i18n_js.py checks it.

const catalog = globalThis.django;

/** The message in the page's language. */
export const gettext = (message) => catalog.gettext(message);

/** The singular or plural message for `count`, in the page's language. */
export const ngettext = (singular, plural, count) => catalog.ngettext(singular, plural, count);

/** A message with a context, for one English word meaning two things. */
export const pgettext = (context, message) => catalog.pgettext(context, message);

/** Fill `%(name)s` placeholders from `values`. */
export const interpolate = (format, values) => catalog.interpolate(format, values, true);

/** The page's language, as the browser's Intl formatters want it. */
export const locale = () => document.documentElement.lang || "en";

/** A whole number with the page's digit grouping. */
export const formatNumber = (value, options = {}) =>
  new Intl.NumberFormat(locale(), options).format(value);
