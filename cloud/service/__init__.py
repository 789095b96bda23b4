"""Running the cloud: ``edgeward cloud ...`` commands, the uvicorn server, master-key rotation."""
