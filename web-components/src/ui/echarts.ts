// ECharts as the dashboard uses it: the core and only the charts, components and renderer it needs.
// Imported dynamically (by <bf-chart>), so it is a chunk of its own, loaded with the first chart.
import { BarChart, LineChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { init, use } from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';

use([LineChart, BarChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

export { init };
export type { EChartsType } from 'echarts/core';
