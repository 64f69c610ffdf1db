<?php
/**
 * Uninstall the Mailport SMTP plugin.
 *
 * The plugin stores nothing in the database: no options, transients, tables, user meta or cron
 * events, and no files outside its own directory. Its settings are the MAILPORT_* constants in
 * wp-config.php, which belong to the site owner: remove them by hand if you no longer want them
 * (while MAILPORT_HOST stays defined but the plugin is gone, WordPress simply ignores it).
 *
 * So there is nothing to delete here, and uninstalling cannot touch anything that another plugin
 * or WordPress itself created. If a later version stores something, it is removed here.
 */

defined('WP_UNINSTALL_PLUGIN') || exit;
