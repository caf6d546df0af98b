import { render } from 'preact'
import { App } from './app.js'
import { ProcessesPage } from './pages/Processes.js'
import { HeatmapPage } from './pages/Heatmap.js'
import { AlertsPage } from './pages/Alerts.js'
import './styles.css'

// One bundle, routed by path (the server serves index.html at each of these).
const pages: Record<string, () => preact.JSX.Element> = { '/processes': ProcessesPage, '/heatmap': HeatmapPage, '/alerts': AlertsPage }
const Page = pages[location.pathname] ?? App
render(<Page />, document.getElementById('app')!)
