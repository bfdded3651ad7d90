/**
 * Log redaction: identifier values (emails, phones, ids) appear in Profile API paths and query
 * strings; logs keep the identifier type and the route, never the value.
 */
const PATH_IDENTIFIER = /\/(profiles|external_ids)\/([^/?]+)/g;
const QUERY_IDENTIFIER = /([?&](?:to|next)=)[^&]*/g;

export function redactUrl(url: string): string {
  return url
    .replace(PATH_IDENTIFIER, (_, segment: string, id: string) => {
      const decoded = safeDecode(id);
      const colon = decoded.indexOf(':');
      return `/${segment}/${colon > 0 ? `${decoded.slice(0, colon)}:***` : '***'}`;
    })
    .replace(QUERY_IDENTIFIER, '$1***');
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
