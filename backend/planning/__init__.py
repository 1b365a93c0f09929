"""Route planning: open visits and collectors in, stored routes with ordered stops out."""
