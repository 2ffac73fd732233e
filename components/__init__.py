"""Pure, typed building blocks of jido. Nothing here imports Prefect."""
