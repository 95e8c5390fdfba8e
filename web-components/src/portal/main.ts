// The portal's entry point (dist/web/assets/portal.js), loaded by portal.html.
import './bf-portal.js';
import { followTheme } from '../ui/theme.js';

followTheme();
