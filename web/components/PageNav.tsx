// The links between the pages: the Explorer, process graphs, the latency heatmap, alerts.
const links: Array<[string, string]> = [['/', 'Explorer'], ['/processes', 'Processes'], ['/heatmap', 'Heatmap'], ['/alerts', 'Alerts']]

export function PageNav () {
  const here = location.pathname
  return (
    <nav class="page-nav" aria-label="pages">
      {links.map(([href, label]) => <a key={href} href={href} class={here === href ? 'on' : ''} aria-current={here === href ? 'page' : undefined}>{label}</a>)}
    </nav>
  )
}
