"""Running the cloud: ``edgeward cloud ...`` commands, the uvicorn server and its settings."""
