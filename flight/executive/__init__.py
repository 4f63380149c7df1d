"""The executive: bus owner, app supervisor and radio of one satellite."""
