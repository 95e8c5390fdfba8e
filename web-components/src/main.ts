// The dashboard's entry: registers the shell; screens load as their own chunks when first shown.
import './bf-app.js';
import { followTheme } from './ui/theme.js';

followTheme();
